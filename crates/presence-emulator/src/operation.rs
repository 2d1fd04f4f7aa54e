//! The operations the emulator serves, as named in statistics and fault rules.

use std::fmt;
use std::str::FromStr;

/// A PubNub operation, as used by fault rules ([`FaultRule::operation`](crate::FaultRule::operation))
/// and request statistics ([`Stats::requests`](crate::Stats::requests)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    /// Here now, including global here now (`here_now`).
    HereNow,
    /// Where now (`where_now`).
    WhereNow,
    /// Heartbeat (`heartbeat`).
    Heartbeat,
    /// Leave (`leave`).
    Leave,
    /// Set state (`set_state`).
    SetState,
    /// Get state (`get_state`).
    GetState,
    /// Any channel-registration call: add, remove, list, delete (`channel_group`).
    ChannelGroup,
    /// The subscribe long-poll, `/v2/subscribe/…` (`subscribe`).
    Subscribe,
}

impl Operation {
    /// Every operation, in a fixed order.
    pub const ALL: [Operation; 8] = [
        Operation::HereNow,
        Operation::WhereNow,
        Operation::Heartbeat,
        Operation::Leave,
        Operation::SetState,
        Operation::GetState,
        Operation::ChannelGroup,
        Operation::Subscribe,
    ];

    /// The wire name used in fault rules and statistics, e.g. `"here_now"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::HereNow => "here_now",
            Operation::WhereNow => "where_now",
            Operation::Heartbeat => "heartbeat",
            Operation::Leave => "leave",
            Operation::SetState => "set_state",
            Operation::GetState => "get_state",
            Operation::ChannelGroup => "channel_group",
            Operation::Subscribe => "subscribe",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error returned when parsing an unknown operation name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown operation `{0}` (expected here_now, where_now, heartbeat, leave, set_state, get_state, channel_group or subscribe)"
)]
pub struct UnknownOperation(pub String);

impl FromStr for Operation {
    type Err = UnknownOperation;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Operation::ALL
            .into_iter()
            .find(|op| op.as_str() == s)
            .ok_or_else(|| UnknownOperation(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for op in Operation::ALL {
            assert_eq!(op.as_str().parse::<Operation>(), Ok(op));
            assert_eq!(Operation::ALL.get(op.index()), Some(&op));
        }
        assert!("publish".parse::<Operation>().is_err());
    }
}
