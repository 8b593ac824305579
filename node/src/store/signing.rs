//! Signing: checkpoints at the head or an earlier seq, a key rotation, and a
//! restore that fills an empty ledger from the hub's log.

use sajja_common::chain::Hash;
use sajja_common::checkpoint::{Checkpoint, PublicKey, SignedCheckpoint, SigningKey};
use sajja_common::date::Date;
use sajja_common::event::{Body, Event};
use sajja_common::verify::{ChainVerifier, VerifyError};

use super::error::{Damage, StoreError};
use super::handle::Store;
use super::keys::{KeyUpdate, RestoreKeys};

impl Store {
    /// A signed checkpoint at the head, at the fork epoch recorded in meta.
    pub fn sign_checkpoint(&self) -> Result<SignedCheckpoint, StoreError> {
        let fork_epoch = self.fork_epoch()?;
        Ok(Checkpoint {
            group: self.group.clone(),
            seq: self.head_seq,
            head: self.head_hash,
            fork_epoch,
        }
        .sign(self.keys.signer_for(self.head_seq)))
    }

    /// A signed checkpoint at an earlier position of this log (the end of a
    /// sync batch), at the fork epoch recorded in meta.
    pub fn sign_checkpoint_at(&self, seq: u64) -> Result<SignedCheckpoint, StoreError> {
        let head = self.hash_at(seq)?.ok_or_else(|| StoreError::BeyondHead {
            group: self.group.clone(),
            seq,
            head: self.head_seq,
        })?;
        let fork_epoch = self.fork_epoch()?;
        Ok(Checkpoint {
            group: self.group.clone(),
            seq,
            head,
            fork_epoch,
        }
        .sign(self.keys.signer_for(seq)))
    }

    /// Hands the group's signing key on to a fresh one: appends a
    /// `KeyRotated` signed by the key in effect and, in the same transaction,
    /// keeps the old key (it still signs checkpoints before the rotation, for
    /// a hub that is behind) and stores the new one. Returns the event's seq
    /// and the new public key.
    pub fn rotate_key(&mut self, date: Date) -> Result<(u64, PublicKey), StoreError> {
        let new = SigningKey::generate()?;
        let new_public = new.public();
        let mut batch = self.begin()?;
        let seq = batch.next_seq();
        let signer = batch.store.keys.signer_for(batch.seq);
        if signer.public() != batch.key {
            return Err(StoreError::KeyNotHeld {
                group: batch.store.group.clone(),
                seq: batch.seq,
                key: batch.key,
            });
        }
        let body = Body::key_rotated(&batch.store.group, seq, &batch.head, signer, new_public);
        batch.keys = Some(KeyUpdate::Rotated { seq, new });
        batch.push(date, body)?;
        batch.commit()?;
        tracing::info!(group = %self.group, seq, key = %new_public, "signing key rotated");
        Ok((seq, new_public))
    }

    /// Fills this empty ledger with the group's log from its hub, verified
    /// whole: the chain, every ledger rule, every key rotation (from the
    /// first key, which the log's first rotation names), and `checkpoint` at
    /// the end with the key in effect there, or with a key the treasurer
    /// holds (the hub operator re-keyed the group to it). The log must be
    /// vouched for by `trusted`: a key it had, or the key that signed its
    /// head. This node then signs with the held key in effect at the head,
    /// or, if that one is lost, with a held key the log never had (the
    /// replacement the hub operator re-keys the group to). Returns the head.
    pub fn restore_log(
        &mut self,
        events: &[Vec<u8>],
        checkpoint: &SignedCheckpoint,
        trusted: &RestoreKeys,
    ) -> Result<(u64, Hash), StoreError> {
        let group = self.group.clone();
        if self.head_seq != 0 {
            return Err(Damage::Meta("a restore fills an empty ledger".into()).into());
        }
        let fork_epoch = self.fork_epoch()?;
        let held = |key: &PublicKey| trusted.seeds.iter().find(|s| s.public() == *key);
        let vouching: Vec<PublicKey> = trusted
            .seeds
            .iter()
            .map(SigningKey::public)
            .chain(trusted.public.iter().copied())
            .collect();
        let first_rotation = events.iter().find_map(|bytes| match Event::decode(bytes) {
            Ok(Event {
                body: Body::KeyRotated { old_key, .. },
                ..
            }) => Some(old_key),
            _ => None,
        });
        let start = match first_rotation {
            Some(key) => key,
            // One key all along: the one that signed the head.
            None => vouching
                .iter()
                .copied()
                .find(|key| checkpoint.verify(key))
                .ok_or_else(|| VerifyError::BadSignature {
                    group: group.clone(),
                    seq: checkpoint.checkpoint.seq,
                })?,
        };
        let mut batch = self.begin()?;
        batch.key = start;
        let mut chain_keys = vec![start];
        let mut rotations = Vec::new();
        for bytes in events {
            let before = batch.key;
            batch.push_bytes(bytes.clone())?;
            if batch.key != before {
                chain_keys.push(batch.key);
                rotations.push((batch.seq, before));
            }
        }
        let (head_seq, end_key) = (batch.seq, batch.key);
        let at_head =
            |key: PublicKey| ChainVerifier::resume(group.clone(), head_seq, batch.head, key);
        let signed_by = match at_head(end_key).finish(checkpoint, fork_epoch) {
            Ok(()) => end_key,
            // A key the log handed on stays retired; only a key it never
            // had can be one the hub operator re-keyed the group to.
            Err(VerifyError::BadSignature { seq, .. }) => trusted
                .seeds
                .iter()
                .map(SigningKey::public)
                .filter(|key| !chain_keys.contains(key))
                .find(|key| at_head(*key).finish(checkpoint, fork_epoch).is_ok())
                .ok_or(VerifyError::BadSignature {
                    group: group.clone(),
                    seq,
                })?,
            Err(error) => return Err(error.into()),
        };
        let vouched =
            held(&signed_by).is_some() || chain_keys.iter().any(|key| vouching.contains(key));
        if !vouched {
            return Err(StoreError::Untrusted {
                group,
                seq: head_seq,
                key: signed_by,
            });
        }
        let current = match held(&signed_by) {
            Some(seed) => seed,
            None => trusted
                .seeds
                .iter()
                .rev()
                .find(|s| !chain_keys.contains(&s.public()))
                .ok_or(StoreError::KeyNotHeld {
                    group: group.clone(),
                    seq: rotations.last().map_or(head_seq, |(seq, _)| *seq),
                    key: signed_by,
                })?,
        };
        let mut retired: Vec<(u64, PublicKey, Option<[u8; 32]>)> = rotations
            .iter()
            .map(|(seq, key)| (*seq, *key, held(key).map(|s| *s.seed())))
            .collect();
        let last_until = rotations.last().map_or(0, |(seq, _)| *seq);
        if current.public() != end_key && head_seq > last_until {
            retired.push((head_seq, end_key, held(&end_key).map(|s| *s.seed())));
        }
        batch.keys = Some(KeyUpdate::Restored {
            retired,
            current: SigningKey::from_seed(current.seed())?,
        });
        batch.commit()?;
        if self.public_key() != end_key {
            tracing::warn!(group = %group, key = %self.public_key(), "restored with a key the log never had: the hub operator must re-key the group to it");
        }
        Ok(self.head())
    }
}
