//! The global email claim's key: a keyed hash of the normalised email, and the region whose
//! node holds the claim.
//!
//! No index spans the regions' partitions, so an email is made unique by a claim on one node.
//! That node is chosen by a pure function of the hash (every origin agrees without asking
//! anyone) and stores only the hash: HMAC-SHA256 under a server secret, so the claim's node
//! never learns the email, and a leaked claim table cannot be reversed by hashing a list of
//! addresses without the key. The key carries an id, stored with every claim, so it can be
//! rotated (origins then claim and look up under the current and the previous key; see the
//! origin's `reconcile-claims`).

use crate::map::{Region, RegionMap};
use crate::routing::normalize_email;
use crate::secret::{hmac_sha256, DEV_SECRET};

/// Id of the development key.
pub const DEV_KEY_ID: &str = "dev";

/// A claim key with its id. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct ClaimKey {
    id: String,
    key: Vec<u8>,
}

impl std::fmt::Debug for ClaimKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClaimKey({}, <redacted>)", self.id)
    }
}

/// Why a claim key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimKeyError {
    /// Not `<id>:<secret>`.
    #[error("expected <id>:<secret>")]
    Shape,
    /// The id is not 1–32 characters of `[a-z0-9-]`.
    #[error("the key id must be 1-32 characters of a-z, 0-9 and -")]
    Id,
    /// The secret is shorter than 32 bytes.
    #[error("the secret must be at least 32 bytes long")]
    Short,
}

impl ClaimKey {
    /// A key from its id and secret.
    pub fn new(id: &str, secret: &str) -> Result<Self, ClaimKeyError> {
        let id_ok = !id.is_empty()
            && id.len() <= 32
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !id_ok {
            return Err(ClaimKeyError::Id);
        }
        if secret.len() < 32 {
            return Err(ClaimKeyError::Short);
        }
        Ok(Self {
            id: id.to_string(),
            key: secret.as_bytes().to_vec(),
        })
    }

    /// Reads `<id>:<secret>` (the form of `ROAM_CLAIM_KEY`).
    pub fn parse(value: &str) -> Result<Self, ClaimKeyError> {
        let (id, secret) = value.trim().split_once(':').ok_or(ClaimKeyError::Shape)?;
        Self::new(id, secret)
    }

    /// The development key (derived from the development secret): local stacks and tests.
    pub fn development() -> Self {
        Self {
            id: DEV_KEY_ID.to_string(),
            key: hmac_sha256(DEV_SECRET.as_bytes(), b"roam/email-claim/dev").to_vec(),
        }
    }

    /// Whether this is the development key.
    pub fn is_development(&self) -> bool {
        *self == Self::development()
    }

    /// The key's id, stored with each claim made under it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The claim hash of an email: lowercase hex HMAC-SHA256 of the normalised email.
    pub fn hash(&self, email: &str) -> String {
        hex::encode(hmac_sha256(&self.key, normalize_email(email).as_bytes()))
    }
}

/// The keys email claims are hashed with: the current one, and the previous one while a
/// rotation is under way (an origin reads them from `ROAM_CLAIM_KEY` and `ROAM_CLAIM_KEY_PREVIOUS`).
#[derive(Debug, Clone)]
pub struct ClaimKeys {
    /// New claims are made under it (and under `previous`, while set).
    pub current: ClaimKey,
    /// The key being rotated out.
    pub previous: Option<ClaimKey>,
}

impl ClaimKeys {
    /// The development key alone.
    pub fn development() -> Self {
        Self {
            current: ClaimKey::development(),
            previous: None,
        }
    }

    /// Every key in force, current first.
    pub fn all(&self) -> impl Iterator<Item = &ClaimKey> {
        std::iter::once(&self.current).chain(self.previous.as_ref())
    }
}

/// The region whose node holds the claim with this hash: its first 8 bytes, big-endian,
/// modulo the number of regions sorted by name. Adding a region moves many claims (the
/// origin's `reconcile-claims` re-homes them).
pub fn claim_region<'a>(map: &'a RegionMap, hash: &str) -> &'a Region {
    let prefix = hash
        .get(..16)
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .unwrap_or(0);
    let mut regions: Vec<&Region> = map.regions.iter().collect();
    regions.sort_by(|a, b| a.name.cmp(&b.name));
    regions[(prefix % regions.len() as u64) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key() -> ClaimKey {
        ClaimKey::parse("k1:0123456789abcdef0123456789abcdef").unwrap()
    }

    #[test]
    fn hashes_are_keyed_normalised_and_hide_the_email() {
        let h = key().hash("Ada@Example.com ");
        assert_eq!(h, key().hash("ada@example.com"));
        assert_eq!(h.len(), 64);
        assert!(!h.contains("ada"));
        let other = ClaimKey::parse("k2:0123456789abcdef0123456789abcdeX").unwrap();
        assert_ne!(
            h,
            other.hash("ada@example.com"),
            "another key, another hash"
        );
        assert_ne!(h, ClaimKey::development().hash("ada@example.com"));
    }

    #[test]
    fn keys_are_validated_and_never_printed() {
        assert_eq!(ClaimKey::parse("nocolon"), Err(ClaimKeyError::Shape));
        assert_eq!(
            ClaimKey::parse("K1:0123456789abcdef0123456789abcdef"),
            Err(ClaimKeyError::Id)
        );
        assert_eq!(ClaimKey::parse("k1:short"), Err(ClaimKeyError::Short));
        let printed = format!("{:?}", key());
        assert!(printed.contains("k1") && !printed.contains("0123456789"));
        assert!(ClaimKey::development().is_development() && !key().is_development());
    }

    #[test]
    fn claims_are_spread_over_every_region() {
        let map = RegionMap::builtin();
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..60 {
            let hash = key().hash(&format!("user{i}@example.com"));
            seen.insert(&claim_region(map, &hash).name);
        }
        assert_eq!(seen.len(), 3, "claims use every region");
    }

    proptest! {
        #[test]
        fn claim_region_is_total(hash in "\\PC{0,80}") {
            let map = RegionMap::builtin();
            prop_assert!(map.region(&claim_region(map, &hash).name).is_some());
        }
    }
}
