//! Identifiers: groups and pools named by official geocodes, members and loans
//! by the group's own small numbers.

use std::fmt;

use thiserror::Error;

/// The id of a single-writer log: a group (its tambon's 6-digit geocode and a
/// 3-digit group number, `230101-007`), a hub's administrative log
/// (`230101-000`, [`GroupId::hub_log`]) or a community exchange's log (the
/// tambon geocode, `-X` and two digits, `230101-X01`,
/// [`GroupId::exchange_log`]). All three are hashed, checkpointed, stored and
/// relayed by the same machinery, keyed by this id; what a log *is* is read
/// from its id, so each decoder refuses the ids of the other kinds.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct GroupId(String);

/// A pooled fund of a network, named by the network's geocode (2 digits for a
/// province, 6 for a tambon) and optionally a short suffix: `23`, `230101`,
/// `230101-RES`.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct PoolId(String);

/// A member's number within the group (1 and up). Names stay on the node.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct MemberNo(pub u32);

/// A loan's number within the group (1 and up).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct LoanNo(pub u32);

#[derive(Debug, Error, PartialEq, Eq)]
pub enum IdError {
    #[error(
        "'{0}' is not a group id: expected a 6-digit tambon geocode, a dash and a 3-digit number, e.g. 230101-007"
    )]
    Group(String),
    #[error("exchange number {0} is out of range: an exchange log is numbered 1 to 99")]
    ExchangeNumber(u32),
    #[error(
        "'{0}' is not a pool id: expected a 2- or 6-digit geocode, optionally followed by '-' and up to 8 letters or digits, e.g. 230101 or 23-RES"
    )]
    Pool(String),
    #[error("'{0}' is not a {1} code: expected {2} digits")]
    Geocode(String, &'static str, usize),
}

fn all_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// Checks a geocode of a given length (2 = province, 6 = tambon).
pub fn check_geocode(text: &str, what: &'static str, len: usize) -> Result<(), IdError> {
    if text.len() == len && all_digits(text) {
        Ok(())
    } else {
        Err(IdError::Geocode(text.to_string(), what, len))
    }
}

impl GroupId {
    pub fn parse(text: &str) -> Result<GroupId, IdError> {
        let bad = || IdError::Group(text.to_string());
        let (tambon, number) = text.split_once('-').ok_or_else(bad)?;
        if tambon.len() != 6 || number.len() != 3 || !all_digits(tambon) {
            return Err(bad());
        }
        // An exchange log's number is `X` and two digits, 01 to 99.
        let number_ok = match number.strip_prefix('X') {
            Some(digits) => all_digits(digits) && digits != "00",
            None => all_digits(number),
        };
        if !number_ok {
            return Err(bad());
        }
        Ok(GroupId(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id of a hub's own administrative log: the hub's geocode padded to a
    /// group id with group number 000 (`230101-000`; province 23: `230000-000`).
    /// No real group has number 000 and no real tambon code ends in 0000.
    pub fn hub_log(hub_geocode: &str) -> Result<GroupId, IdError> {
        let padded = match hub_geocode.len() {
            2 => format!("{hub_geocode}0000-000"),
            6 => format!("{hub_geocode}-000"),
            _ => return Err(IdError::Geocode(hub_geocode.to_string(), "hub", 6)),
        };
        GroupId::parse(&padded)
    }

    /// Whether this id names a hub's administrative log rather than a group.
    pub fn is_hub_log(&self) -> bool {
        self.0.ends_with("-000")
    }

    /// The id of a community exchange's log: the tambon's geocode, `-X` and
    /// the exchange's number in the tambon, 1 to 99 (`230101-X01`). A group
    /// number is digits only, so no group or hub log has such an id.
    pub fn exchange_log(tambon: &str, number: u32) -> Result<GroupId, IdError> {
        check_geocode(tambon, "tambon", 6)?;
        if !(1..=99).contains(&number) {
            return Err(IdError::ExchangeNumber(number));
        }
        GroupId::parse(&format!("{tambon}-X{number:02}"))
    }

    /// Whether this id names a community exchange's log rather than a group.
    pub fn is_exchange_log(&self) -> bool {
        self.0.as_bytes().get(7) == Some(&b'X')
    }

    /// Whether this id names a group (neither a hub's nor an exchange's log).
    pub fn is_group(&self) -> bool {
        !self.is_hub_log() && !self.is_exchange_log()
    }

    /// The geocode of the hub whose administrative log this is.
    pub fn hub_of_log(&self) -> Option<&str> {
        if !self.is_hub_log() {
            return None;
        }
        Some(if self.0[2..6] == *"0000" {
            &self.0[..2]
        } else {
            &self.0[..6]
        })
    }

    /// The tambon geocode the group belongs to (its first six digits).
    pub fn tambon(&self) -> &str {
        &self.0[..6]
    }

    /// The province geocode (its first two digits).
    pub fn province(&self) -> &str {
        &self.0[..2]
    }
}

impl PoolId {
    pub fn parse(text: &str) -> Result<PoolId, IdError> {
        let bad = || IdError::Pool(text.to_string());
        let (code, suffix) = match text.split_once('-') {
            Some((code, suffix)) => (code, Some(suffix)),
            None => (text, None),
        };
        if !(code.len() == 2 || code.len() == 6) || !all_digits(code) {
            return Err(bad());
        }
        if let Some(suffix) = suffix
            && (suffix.is_empty()
                || suffix.len() > 8
                || !suffix
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()))
        {
            return Err(bad());
        }
        Ok(PoolId(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The geocode of the network that manages the pool.
    pub fn network(&self) -> &str {
        self.0.split('-').next().unwrap_or(&self.0)
    }
}

impl fmt::Display for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl fmt::Display for PoolId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl fmt::Display for MemberNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for LoanNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_ids_follow_the_geocode() {
        let id = GroupId::parse("230101-007").unwrap();
        assert_eq!((id.tambon(), id.province()), ("230101", "23"));
        for bad in [
            "23010-007",
            "230101007",
            "230101-07",
            "2301a1-007",
            "",
            "230101-0071",
        ] {
            assert!(GroupId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hub_logs_are_group_number_000() {
        let tambon = GroupId::hub_log("230101").unwrap();
        let province = GroupId::hub_log("23").unwrap();
        assert_eq!(
            (tambon.as_str(), province.as_str()),
            ("230101-000", "230000-000")
        );
        assert_eq!(
            (tambon.hub_of_log(), province.hub_of_log()),
            (Some("230101"), Some("23"))
        );
        assert!(!GroupId::parse("230101-007").unwrap().is_hub_log());
    }

    #[test]
    fn exchange_logs_are_x_and_two_digits() {
        let exchange = GroupId::exchange_log("230101", 1).unwrap();
        assert_eq!(exchange.as_str(), "230101-X01");
        assert_eq!(GroupId::parse("230101-X01").unwrap(), exchange);
        assert!(exchange.is_exchange_log() && !exchange.is_hub_log() && !exchange.is_group());
        assert_eq!((exchange.tambon(), exchange.province()), ("230101", "23"));
        assert_eq!(exchange.hub_of_log(), None);
        assert!(GroupId::parse("230101-007").unwrap().is_group());
        assert!(!GroupId::parse("230101-000").unwrap().is_exchange_log());
        assert_eq!(
            GroupId::exchange_log("230101", 0),
            Err(IdError::ExchangeNumber(0))
        );
        assert!(GroupId::exchange_log("230101", 100).is_err());
        assert!(GroupId::exchange_log("2301", 1).is_err());
        for bad in [
            "230101-X00",
            "230101-X1",
            "230101-X001",
            "230101-x01",
            "230101-XA1",
            "230101-0X1",
        ] {
            assert!(GroupId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pool_ids_name_a_network() {
        assert_eq!(PoolId::parse("230101-RES").unwrap().network(), "230101");
        assert!(PoolId::parse("23").is_ok());
        for bad in ["2301", "23-", "23-res", "23-TOOLONGNAME", "x"] {
            assert!(PoolId::parse(bad).is_err(), "{bad}");
        }
    }
}
