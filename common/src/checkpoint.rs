//! Signed checkpoints: a group's Ed25519 signature over `{group, seq, head,
//! fork epoch}`. One signature covers every event up to `seq`, because the head
//! hash commits to all of them.

use std::fmt;

use ring::rand::SystemRandom;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use thiserror::Error;

use crate::chain::Hash;
use crate::ids::GroupId;

const CHECKPOINT_DOMAIN: &[u8] = b"sajja/v1/checkpoint\0";
const KEY_ROTATION_DOMAIN: &[u8] = b"sajja/v1/key-rotation\0";

/// The exact bytes the old key signs in a `KeyRotated` event. They bind the
/// group, the event's seq and the chain head before it, so the consent cannot
/// be replayed in another log or at another position (even after a fork
/// resolution reuses the seq, the head differs), and the new key, so it
/// cannot be moved to another key.
pub fn rotation_signing_bytes(
    group: &GroupId,
    seq: u64,
    previous_head: &Hash,
    new_key: &PublicKey,
) -> Vec<u8> {
    let group = group.as_str().as_bytes();
    let mut out = Vec::with_capacity(KEY_ROTATION_DOMAIN.len() + 1 + group.len() + 8 + 32 + 32);
    out.extend_from_slice(KEY_ROTATION_DOMAIN);
    out.push(group.len() as u8);
    out.extend_from_slice(group);
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(previous_head.as_bytes());
    out.extend_from_slice(new_key.as_bytes());
    out
}

/// A position in a group's log: everything up to `seq` hashes to `head`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub group: GroupId,
    pub seq: u64,
    pub head: Hash,
    /// Bumped by a hub operator when a fork is resolved, so checkpoints from the
    /// abandoned branch never verify again.
    pub fork_epoch: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    pub signature: [u8; 64],
}

#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct PublicKey([u8; 32]);

/// A group's (or hub's) Ed25519 signing key, kept as its 32-byte seed.
pub struct SigningKey {
    seed: [u8; 32],
    pair: Ed25519KeyPair,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("a signing key must be a 32-byte seed")]
    Length,
    #[error("the key is not a valid Ed25519 key")]
    Invalid,
    #[error("the system random source failed")]
    Random,
}

impl Checkpoint {
    /// The exact bytes signed. They name the group (length-prefixed), so a
    /// checkpoint of group A never verifies as one of group B.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let group = self.group.as_str().as_bytes();
        let mut out = Vec::with_capacity(CHECKPOINT_DOMAIN.len() + 1 + group.len() + 8 + 32 + 4);
        out.extend_from_slice(CHECKPOINT_DOMAIN);
        out.push(group.len() as u8);
        out.extend_from_slice(group);
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(self.head.as_bytes());
        out.extend_from_slice(&self.fork_epoch.to_be_bytes());
        out
    }

    pub fn sign(self, key: &SigningKey) -> SignedCheckpoint {
        let signature = key.sign(&self.signing_bytes());
        SignedCheckpoint {
            checkpoint: self,
            signature,
        }
    }
}

impl SignedCheckpoint {
    pub fn verify(&self, key: &PublicKey) -> bool {
        key.verify(&self.checkpoint.signing_bytes(), &self.signature)
    }
}

impl PublicKey {
    pub fn from_slice(bytes: &[u8]) -> Option<PublicKey> {
        <[u8; 32]>::try_from(bytes).ok().map(PublicKey)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(text: &str) -> Option<PublicKey> {
        hex::decode(text.trim())
            .ok()
            .and_then(|b| PublicKey::from_slice(&b))
    }

    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&ED25519, &self.0)
            .verify(message, signature)
            .is_ok()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_hex())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Starts every line of a private key backup (`sajja-node key-export`,
/// `keygen`). A bare 64-hex seed cannot be told from a public key, so without
/// it a hub handed a backup by mistake would enrol the secret; with it, every
/// place that takes a public key can refuse a backup by name.
pub const PRIVATE_KEY_PREFIX: &str = "sajja-private-key-v1:";

/// Whether `text` carries a private key backup line (anywhere, in any case:
/// an operator may paste a whole file).
pub fn is_private_key_backup(text: &str) -> bool {
    text.to_ascii_lowercase().contains(PRIVATE_KEY_PREFIX)
}

impl SigningKey {
    /// The seed as one line of a key backup: [`PRIVATE_KEY_PREFIX`], then hex.
    pub fn to_backup_line(&self) -> String {
        format!("{PRIVATE_KEY_PREFIX}{}", hex::encode(self.seed))
    }

    /// Reads one line of a key backup: prefixed, or bare hex as backups were
    /// written before the prefix existed (those still restore a node).
    pub fn from_backup_line(line: &str) -> Result<SigningKey, KeyError> {
        let line = line.trim();
        let hex_seed = match line.get(..PRIVATE_KEY_PREFIX.len()) {
            Some(head) if head.eq_ignore_ascii_case(PRIVATE_KEY_PREFIX) => {
                &line[PRIVATE_KEY_PREFIX.len()..]
            }
            _ => line,
        };
        let seed = hex::decode(hex_seed.trim()).map_err(|_| KeyError::Length)?;
        SigningKey::from_seed(&seed)
    }

    pub fn generate() -> Result<SigningKey, KeyError> {
        let mut seed = [0u8; 32];
        ring::rand::SecureRandom::fill(&SystemRandom::new(), &mut seed)
            .map_err(|_| KeyError::Random)?;
        SigningKey::from_seed(&seed)
    }

    pub fn from_seed(seed: &[u8]) -> Result<SigningKey, KeyError> {
        let seed: [u8; 32] = seed.try_into().map_err(|_| KeyError::Length)?;
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed).map_err(|_| KeyError::Invalid)?;
        Ok(SigningKey { seed, pair })
    }

    pub fn seed(&self) -> &[u8; 32] {
        &self.seed
    }

    pub fn public(&self) -> PublicKey {
        let mut out = [0; 32];
        out.copy_from_slice(self.pair.public_key().as_ref());
        PublicKey(out)
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        let mut out = [0; 64];
        out.copy_from_slice(self.pair.sign(message).as_ref());
        out
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey(public {})", self.public())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint(group: &str) -> Checkpoint {
        Checkpoint {
            group: GroupId::parse(group).unwrap(),
            seq: 42,
            head: Hash::from_bytes([1; 32]),
            fork_epoch: 0,
        }
    }

    #[test]
    fn a_signed_checkpoint_verifies_only_with_its_key_and_unchanged() {
        let key = SigningKey::from_seed(&[5; 32]).unwrap();
        let other = SigningKey::from_seed(&[6; 32]).unwrap();
        let signed = checkpoint("230101-007").sign(&key);
        assert!(signed.verify(&key.public()));
        assert!(!signed.verify(&other.public()));
        let mut moved = signed.clone();
        moved.checkpoint.seq = 43;
        assert!(!moved.verify(&key.public()));
        let mut epoch = signed.clone();
        epoch.checkpoint.fork_epoch = 1;
        assert!(!epoch.verify(&key.public()));
    }

    #[test]
    fn a_checkpoint_of_one_group_never_verifies_as_another() {
        let key = SigningKey::from_seed(&[5; 32]).unwrap();
        let mut signed = checkpoint("230101-007").sign(&key);
        signed.checkpoint.group = GroupId::parse("230101-008").unwrap();
        assert!(!signed.verify(&key.public()));
    }

    #[test]
    fn a_key_backup_line_is_unmistakable_and_old_bare_hex_still_reads() {
        // Proves a backup line names itself private, reads back to the same key, and a pre-prefix bare-hex backup still reads.
        let key = SigningKey::from_seed(&[7; 32]).unwrap();
        let line = key.to_backup_line();
        assert!(line.starts_with("sajja-private-key-v1:"), "{line}");
        assert!(is_private_key_backup(&line));
        assert!(is_private_key_backup(&format!(
            "  # backup\n{}",
            line.to_uppercase()
        )));
        assert!(!is_private_key_backup(&key.public().to_hex()));
        let read = SigningKey::from_backup_line(&line).unwrap();
        assert_eq!(read.public(), key.public());
        let bare = SigningKey::from_backup_line(&hex::encode([7; 32])).unwrap();
        assert_eq!(bare.public(), key.public());
        assert!(SigningKey::from_backup_line("sajja-private-key-v1:zz").is_err());
    }
}
