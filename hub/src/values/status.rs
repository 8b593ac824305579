//! A stored log's status as the hub sees it, and the damage the scrub found.

use sajja_common::GroupId;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupStatus {
    Ok,
    Forked,
    /// The scrub found stored bytes that no longer hash to the log's chain
    /// (see [`Store::scrub_log`]): pushes are held until a good copy repairs it.
    Damaged,
}

impl GroupStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupStatus::Ok => "ok",
            GroupStatus::Forked => "forked",
            GroupStatus::Damaged => "damaged",
        }
    }

    pub fn parse(text: &str) -> GroupStatus {
        match text {
            "forked" => GroupStatus::Forked,
            "damaged" => GroupStatus::Damaged,
            _ => GroupStatus::Ok,
        }
    }
}

/// A log the scrub found damaged: the first seq whose stored bytes, hash or
/// place no longer agree with the log's chain and signed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    pub group: GroupId,
    pub seq: u64,
    pub reason: String,
    pub detected_at: i64,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "group {} is damaged from seq {}: {}",
            self.group, self.seq, self.reason
        )
    }
}
