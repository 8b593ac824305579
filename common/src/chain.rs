//! The hash chain over a group's log.
//!
//! Each event's hash covers the previous hash and the exact event bytes (which
//! name the group and the sequence number); the chain starts from a genesis
//! value bound to the group id. Domain-separation prefixes keep a chain hash
//! from ever being mistaken for any other SHA-256 in the system.

use std::fmt;

use ring::digest::{Context, SHA256};

use crate::ids::GroupId;

const GENESIS_DOMAIN: &[u8] = b"sajja/v1/genesis\0";
const EVENT_DOMAIN: &[u8] = b"sajja/v1/event\0";

#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Hash([u8; 32]);

impl Hash {
    pub const fn from_bytes(bytes: [u8; 32]) -> Hash {
        Hash(bytes)
    }

    pub fn from_slice(bytes: &[u8]) -> Option<Hash> {
        <[u8; 32]>::try_from(bytes).ok().map(Hash)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(text: &str) -> Option<Hash> {
        hex::decode(text).ok().and_then(|b| Hash::from_slice(&b))
    }

    /// SHA-256 of `parts` after a domain-separation prefix.
    pub fn of(domain: &[u8], parts: &[&[u8]]) -> Hash {
        let mut context = Context::new(&SHA256);
        context.update(domain);
        for part in parts {
            context.update(part);
        }
        let digest = context.finish();
        let mut out = [0; 32];
        out.copy_from_slice(digest.as_ref());
        Hash(out)
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", &self.to_hex()[..16])
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// The chain's starting point for a group: the head of its empty log.
pub fn genesis(group: &GroupId) -> Hash {
    Hash::of(GENESIS_DOMAIN, &[group.as_str().as_bytes()])
}

/// The head after appending `event_bytes` to a chain whose head is `previous`.
pub fn next(previous: &Hash, event_bytes: &[u8]) -> Hash {
    let length = (event_bytes.len() as u64).to_be_bytes();
    Hash::of(EVENT_DOMAIN, &[previous.as_bytes(), &length, event_bytes])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genesis_is_bound_to_the_group() {
        let a = GroupId::parse("230101-001").unwrap();
        let b = GroupId::parse("230101-002").unwrap();
        assert_ne!(genesis(&a), genesis(&b));
    }

    #[test]
    fn every_byte_and_the_order_matter() {
        let start = genesis(&GroupId::parse("230101-001").unwrap());
        let ab = next(&next(&start, b"a"), b"b");
        let ba = next(&next(&start, b"b"), b"a");
        assert_ne!(ab, ba);
        assert_ne!(next(&start, b"ab"), next(&next(&start, b"a"), b"b"));
    }
}
