//! Who the simulated groups are: ids, sizes and seeds.

use sajja_common::rng::Rng;
use sajja_common::{GroupId, SigningKey};

/// Fewest and most members of a simulated group.
pub const MIN_MEMBERS: u32 = 50;
pub const MAX_MEMBERS: u32 = 2_000;

/// One simulated group: its id, size and seed.
#[derive(Clone, Debug)]
pub struct GroupSpec {
    pub group: GroupId,
    pub members: u32,
    pub seed: u64,
}

impl GroupSpec {
    /// The group's signing key, derived from its seed.
    pub fn key(&self) -> SigningKey {
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&self.seed.to_le_bytes());
        seed[8..18].copy_from_slice(self.group.as_str().as_bytes());
        SigningKey::from_seed(&seed).expect("a 32-byte seed is a valid Ed25519 seed")
    }

    /// The generator's draws for this group: the seed mixed with a constant,
    /// so that a group's seed and its draws are never the same numbers.
    pub(crate) fn rng(&self) -> Rng {
        Rng::new(self.seed ^ 0x5A11_A5A1_1A5A)
    }
}

/// `count` groups of one province (23), 20 to a tambon, sized 50–2,000
/// members with a log-uniform skew (median about 320, like real funds: many
/// small, a few large).
pub fn province(count: usize, seed: u64) -> Vec<GroupSpec> {
    let mut rng = Rng::new(seed ^ 0x5A11_A5A1_1A5A);
    (0..count)
        .map(|i| {
            let tambon = i / 20;
            let id = format!(
                "23{:02}{:02}-{:03}",
                1 + tambon / 20,
                1 + tambon % 20,
                1 + i % 20
            );
            // Log-uniform between MIN and MAX: floats choose a size, never money.
            let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            let ratio = f64::from(MAX_MEMBERS) / f64::from(MIN_MEMBERS);
            let members = (f64::from(MIN_MEMBERS) * ratio.powf(u)).round() as u32;
            GroupSpec {
                group: GroupId::parse(&id).expect("generated group ids are well formed"),
                members: members.clamp(MIN_MEMBERS, MAX_MEMBERS),
                seed: rng.next_u64(),
            }
        })
        .collect()
}
