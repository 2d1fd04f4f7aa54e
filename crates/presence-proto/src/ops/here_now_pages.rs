//! here_now over every page: a pure cursor over `offset` that merges the pages.
//!
//! The service has no cursor in a here_now reply (spec §1.1): a caller walks `offset` by
//! `limit` until every channel's list is shorter than `limit`. [`HereNowPages`] does that
//! bookkeeping with no I/O — it hands out the next page's [`HereNow`] and takes its
//! [`HereNowResult`] back — so every driver (and the client's `pages()` / `all_pages()`) pages
//! the same way.

use std::collections::{BTreeMap, HashSet};

use crate::ops::here_now::{HereNow, HereNowChannel, HereNowResult};

/// Paging state for a here_now over every page: which page to ask for next, and the merged
/// result so far.
///
/// Each user is kept once per channel even if the service's list shifted between pages (a
/// user who left and another who joined can move a name across a page boundary). When the
/// total occupancy reported differs between pages, [`HereNowAllPages::occupancy_changed`]
/// says so: the merged list is then a union over a moving roster, not one instant's.
///
/// Paging stops when every channel of the latest page listed fewer than `limit` occupants,
/// when occupants are not listed at all (`include_user_ids(false)` or `limit(0)`), or when a
/// full page brought no user not seen before (a service ignoring `offset` cannot loop
/// forever).
///
/// ```
/// use presence_proto::{HereNow, HereNowPages, Operation};
/// let mut pages = HereNowPages::new(HereNow::new().channels(["lobby"]).limit(2));
/// let replies: [&[u8]; 2] = [
///     br#"{"status":200,"occupancy":3,"uuids":["a","b"]}"#,
///     br#"{"status":200,"occupancy":3,"uuids":["c"]}"#,
/// ];
/// let mut replies = replies.into_iter();
/// while let Some(op) = pages.next_page() {
///     // … send `op.to_request(…)` with any HTTP stack; here, canned replies:
///     let body = replies.next().unwrap();
///     let page = op.parse(http::Response::new(body))?;
///     pages.record(page);
/// }
/// let all = pages.finish();
/// assert_eq!(all.pages, 2);
/// let users: Vec<_> = all.result.channels[0].occupants.iter().map(|u| u.user_id.as_str()).collect();
/// assert_eq!(users, ["a", "b", "c"]);
/// assert!(!all.occupancy_changed);
/// # Ok::<(), presence_proto::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct HereNowPages {
    base: HereNow,
    limit: u32,
    next_offset: Option<u32>,
    pages: u32,
    channels: BTreeMap<String, (HereNowChannel, HashSet<String>)>,
    first_total: Option<u64>,
    last_total: u64,
    total_channels: u64,
    occupancy_changed: bool,
}

/// The merged result of a here_now over every page, with how it was gathered.
///
/// Serialises as the [`HereNowResult`]'s own fields (`total_channels`, `total_occupancy`,
/// `channels`) plus `pages`, `occupancy_changed` and `first_total_occupancy` — a superset of a
/// single page's form, so readers of one read the other; it deserialises from that form.
///
/// ```
/// use presence_proto::{HereNow, HereNowPages};
/// let all = HereNowPages::new(HereNow::new().channels(["lobby"])).finish();
/// assert_eq!(all.pages, 0);
/// assert!(all.result.channels.is_empty());
/// assert_eq!(
///     serde_json::to_string(&all).unwrap(),
///     r#"{"total_channels":0,"total_occupancy":0,"channels":[],"pages":0,"occupancy_changed":false,"first_total_occupancy":0}"#
/// );
/// ```
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct HereNowAllPages {
    /// Every channel with every occupant listed once, in page order; `total_occupancy` and
    /// each channel's `occupancy` are the last page's counts.
    #[serde(flatten)]
    pub result: HereNowResult,
    /// How many pages were fetched.
    pub pages: u32,
    /// Whether the total occupancy reported changed between pages (users came or went while
    /// paging): the lists are then a union over that time.
    pub occupancy_changed: bool,
    /// The total occupancy the first page reported (compare with `result.total_occupancy`).
    pub first_total_occupancy: u64,
}

impl HereNowPages {
    /// Starts paging `op` from its own `offset`, `limit` occupants at a time.
    ///
    /// ```
    /// use presence_proto::{HereNow, HereNowPages};
    /// let mut pages = HereNowPages::new(HereNow::new().channels(["lobby"]).limit(1000));
    /// assert!(pages.next_page().is_some());
    /// ```
    pub fn new(op: HereNow) -> Self {
        let limit = op.get_limit();
        let offset = op.get_offset();
        Self {
            base: op,
            limit,
            next_offset: Some(offset),
            pages: 0,
            channels: BTreeMap::new(),
            first_total: None,
            last_total: 0,
            total_channels: 0,
            occupancy_changed: false,
        }
    }

    /// The operation for the next page, or `None` once every list is exhausted. Asking again
    /// before [`Self::record`] returns the same page.
    ///
    /// ```
    /// use presence_proto::{HereNow, HereNowPages};
    /// let pages = HereNowPages::new(HereNow::new().channels(["lobby"]).limit(50).offset(100));
    /// assert_eq!(pages.next_page().unwrap().get_offset(), 100);
    /// ```
    pub fn next_page(&self) -> Option<HereNow> {
        self.next_offset
            .map(|offset| self.base.clone().offset(offset))
    }

    /// Whether paging is over (no further page is needed).
    ///
    /// ```
    /// use presence_proto::{HereNow, HereNowPages};
    /// let pages = HereNowPages::new(HereNow::new().channels(["lobby"]));
    /// assert!(!pages.is_done());
    /// ```
    pub fn is_done(&self) -> bool {
        self.next_offset.is_none()
    }

    /// Merges one page (the reply to the latest [`Self::next_page`]) and moves the offset on.
    /// Returns how many occupants it added that were not seen before.
    ///
    /// ```
    /// use presence_proto::{HereNow, HereNowPages, Operation};
    /// let mut pages = HereNowPages::new(HereNow::new().channels(["lobby"]).limit(2));
    /// let op = pages.next_page().unwrap();
    /// let page = op.parse(http::Response::new(&br#"{"status":200,"occupancy":1,"uuids":["a"]}"#[..]))?;
    /// assert_eq!(pages.record(page), 1);
    /// assert!(pages.is_done()); // one user, limit two: nothing more to ask
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn record(&mut self, page: HereNowResult) -> usize {
        let Some(offset) = self.next_offset else {
            return 0;
        };
        self.pages += 1;
        match self.first_total {
            None => self.first_total = Some(page.total_occupancy),
            Some(first) => self.occupancy_changed |= first != page.total_occupancy,
        }
        self.last_total = page.total_occupancy;
        self.total_channels = page.total_channels;
        let limit = self.limit as usize;
        let mut full = false;
        let mut added = 0;
        for channel in page.channels {
            full |= channel.occupants_listed && limit > 0 && channel.occupants.len() >= limit;
            let (merged, seen) = self
                .channels
                .entry(channel.name.clone())
                .or_insert_with(|| {
                    let empty = HereNowChannel {
                        occupants: Vec::new(),
                        ..channel.clone_header()
                    };
                    (empty, HashSet::new())
                });
            merged.occupancy = channel.occupancy;
            merged.occupants_listed |= channel.occupants_listed;
            for user in channel.occupants {
                if seen.insert(user.user_id.clone()) {
                    merged.occupants.push(user);
                    added += 1;
                }
            }
        }
        self.next_offset = if full && added > 0 {
            offset.checked_add(self.limit)
        } else {
            None
        };
        added
    }

    /// The merged result (whatever has been recorded so far).
    ///
    /// ```
    /// use presence_proto::{HereNow, HereNowPages};
    /// let all = HereNowPages::new(HereNow::new()).finish();
    /// assert!(!all.occupancy_changed);
    /// ```
    pub fn finish(self) -> HereNowAllPages {
        let channels: Vec<HereNowChannel> = self
            .channels
            .into_values()
            .map(|(channel, _)| channel)
            .collect();
        HereNowAllPages {
            result: HereNowResult {
                total_channels: self.total_channels.max(channels.len() as u64),
                total_occupancy: self.last_total,
                channels,
            },
            pages: self.pages,
            occupancy_changed: self.occupancy_changed,
            first_total_occupancy: self.first_total.unwrap_or(0),
        }
    }
}

impl HereNowChannel {
    /// The channel's name, occupancy and listing flag, without its occupants.
    fn clone_header(&self) -> Self {
        Self {
            name: self.name.clone(),
            occupancy: self.occupancy,
            occupants: Vec::new(),
            occupants_listed: self.occupants_listed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::here_now::HereNowUser;

    fn page(total: u64, channels: &[(&str, u64, &[&str])]) -> HereNowResult {
        HereNowResult {
            total_channels: channels.len() as u64,
            total_occupancy: total,
            channels: channels
                .iter()
                .map(|(name, occupancy, users)| HereNowChannel {
                    name: (*name).to_owned(),
                    occupancy: *occupancy,
                    occupants_listed: true,
                    occupants: users
                        .iter()
                        .map(|u| HereNowUser {
                            user_id: (*u).to_owned(),
                            state: None,
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn walks_until_every_list_is_short_and_merges() {
        let mut pages = HereNowPages::new(HereNow::new().channels(["a", "b"]).limit(2));
        assert_eq!(pages.next_page().unwrap().get_offset(), 0);
        pages.record(page(5, &[("a", 4, &["a1", "a2"]), ("b", 1, &["b1"])]));
        assert_eq!(pages.next_page().unwrap().get_offset(), 2);
        pages.record(page(5, &[("a", 4, &["a3", "a4"]), ("b", 1, &[])]));
        assert_eq!(pages.next_page().unwrap().get_offset(), 4);
        pages.record(page(5, &[("a", 4, &[]), ("b", 1, &[])]));
        assert!(pages.is_done());
        let all = pages.finish();
        assert_eq!(all.pages, 3);
        assert!(!all.occupancy_changed);
        let a = all.result.channel("a").unwrap();
        assert_eq!(a.occupants.len(), 4);
        assert_eq!(all.result.channel("b").unwrap().occupants.len(), 1);
    }

    #[test]
    fn notes_a_changed_occupancy_and_keeps_users_once() {
        let mut pages = HereNowPages::new(HereNow::new().channels(["a"]).limit(2));
        pages.record(page(3, &[("a", 3, &["u1", "u2"])]));
        pages.record(page(4, &[("a", 4, &["u2", "u3"])]));
        pages.record(page(4, &[("a", 4, &["u4"])]));
        let all = pages.finish();
        assert!(all.occupancy_changed);
        assert_eq!(all.first_total_occupancy, 3);
        assert_eq!(all.result.total_occupancy, 4);
        let users: Vec<_> = all.result.channels[0]
            .occupants
            .iter()
            .map(|u| u.user_id.as_str())
            .collect();
        assert_eq!(users, ["u1", "u2", "u3", "u4"]);
    }

    #[test]
    fn stops_on_a_service_ignoring_offset_and_on_unlisted_occupants() {
        let mut pages = HereNowPages::new(HereNow::new().channels(["a"]).limit(1));
        pages.record(page(2, &[("a", 2, &["u1"])]));
        pages.record(page(2, &[("a", 2, &["u1"])]));
        assert!(pages.is_done());
        let mut counts = HereNowPages::new(HereNow::new().channels(["a"]).include_user_ids(false));
        let mut unlisted = page(7, &[("a", 7, &[])]);
        unlisted.channels[0].occupants_listed = false;
        counts.record(unlisted);
        assert!(counts.is_done());
        assert_eq!(counts.finish().result.total_occupancy, 7);
    }
}
