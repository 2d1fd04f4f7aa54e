//! The per-fixture index of `INDEX.md`: what the corpus authors say each file holds
//! (operation, status, reply shape, flags), so that the suite can check its own reading of
//! every exchange against an independent description.

use std::collections::BTreeMap;
use std::path::Path;

use crate::corpus::read_text;
use crate::error::{ReadError, err};

/// One presence exchange as described by a row of `INDEX.md`'s per-fixture index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexEntry {
    /// Operation (`here_now_single`, `leave`, …).
    pub op: String,
    /// Path template and notable parameters.
    pub request: String,
    /// HTTP status (`None` when no reply was recorded).
    pub status: Option<u16>,
    /// Shape id (`HN1`, `E403`, `BAD`, …).
    pub shape: String,
    /// Flags (`EDITED`, `ANON`, `GZ`, `COMPACT`, `CT-HTML`).
    pub flags: Vec<String>,
    /// How many times the exchange repeats in the file (`xN`).
    pub repeat: usize,
}

impl IndexEntry {
    /// Whether the entry carries `flag`.
    pub fn has(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }
}

/// Reads the per-fixture rows of `INDEX.md`, keyed by `repo/path` (as in `PROVENANCE.tsv`).
pub fn read_index(root: &Path) -> Result<BTreeMap<String, Vec<IndexEntry>>, ReadError> {
    let text = read_text(&root.join("INDEX.md"))?;
    let mut out = BTreeMap::new();
    let mut in_index = false;
    let mut dir = String::new();
    for line in text.lines() {
        if line.starts_with("## ") {
            in_index = line.trim() == "## Per-fixture index";
            continue;
        }
        if !in_index {
            continue;
        }
        if let Some(name) = line.strip_prefix("### ") {
            name.trim().trim_end_matches('/').clone_into(&mut dir);
            continue;
        }
        let Some(rest) = line.strip_prefix("| `") else {
            continue;
        };
        let Some((file, rest)) = rest.split_once("` |") else {
            continue;
        };
        // `| recorded | exchanges |`
        let mut cols = rest.split(" | ");
        let (_recorded, Some(exchanges)) = (cols.next(), cols.next()) else {
            continue;
        };
        let exchanges = exchanges.trim().trim_end_matches('|').trim();
        let entries = exchanges
            .split("; ")
            .filter_map(parse_index_entry)
            .collect::<Vec<_>>();
        out.insert(format!("{dir}/{file}"), entries);
    }
    if out.is_empty() {
        return err("INDEX.md: no per-fixture rows found");
    }
    Ok(out)
}

/// `op path?params -> STATUS SHAPE [FLAGS] xN`
fn parse_index_entry(text: &str) -> Option<IndexEntry> {
    let (left, right) = text.split_once(" -> ")?;
    let (op, request) = left.trim().split_once(' ')?;
    let mut words = right.split_whitespace();
    let status = words.next()?.parse::<u16>().ok();
    let shape = words.next()?.to_owned();
    let mut flags = Vec::new();
    let mut repeat = 1;
    for word in words {
        if let Some(list) = word.strip_prefix('[') {
            flags.extend(
                list.trim_end_matches(']')
                    .split(',')
                    .filter(|f| !f.is_empty())
                    .map(str::to_owned),
            );
        } else if let Some(n) = word.strip_prefix('x').and_then(|n| n.parse().ok()) {
            repeat = n;
        }
    }
    Some(IndexEntry {
        op: op.to_owned(),
        request: request.to_owned(),
        status,
        shape,
        flags,
        repeat,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_rows() {
        let e = parse_index_entry(
            "here_now_cg /v2/presence/sub-key/{sk}/channel/,?channel-group&state=1 -> 200 HM2 [GZ,COMPACT] x3",
        )
        .unwrap();
        assert_eq!(e.op, "here_now_cg");
        assert_eq!(e.status, Some(200));
        assert_eq!(e.shape, "HM2");
        assert!(e.has("GZ") && e.has("COMPACT"));
        assert_eq!(e.repeat, 3);
        let t0 = parse_index_entry("leave /v2/presence/sub_key/{sk}/channel/{ch}/leave -> None T0")
            .unwrap();
        assert_eq!((t0.status, t0.shape.as_str()), (None, "T0"));
    }
}
