//! The secret shared by the edge and every origin, and the HMAC-SHA256 every key derived from
//! it signs with: the request signature ([`crate::signature`]), tokens, bookmarks and the
//! development claim key.

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub(crate) type HmacSha256 = Hmac<Sha256>;

/// The local-development secret. Origins refuse to start with it in production.
pub const DEV_SECRET: &str = "roam-dev-secret-do-not-use-in-production";

/// The secret shared by the edge and every origin. Never printed. It carries the signature's
/// HMAC already keyed: deriving the signing key and keying an HMAC cost six SHA-256 blocks,
/// more than hashing a request's canonical string, and were paid on every request.
#[derive(Clone)]
pub struct SharedSecret {
    bytes: Vec<u8>,
    id: String,
    signing: HmacSha256,
}

impl std::fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedSecret(<redacted>)")
    }
}

impl SharedSecret {
    /// Wraps the secret's bytes (at least 16 are required; see [`SharedSecret::parse`]).
    pub fn parse(secret: &str) -> Result<Self, &'static str> {
        if secret.len() < 16 {
            return Err("the shared secret must be at least 16 bytes long");
        }
        let bytes = secret.as_bytes().to_vec();
        let id = hex::encode(&hmac_sha256(&bytes, KEY_ID_PURPOSE.as_bytes())[..4]);
        let key = hmac_sha256(&bytes, SIGNATURE_PURPOSE.as_bytes());
        let signing = HmacSha256::new_from_slice(&key).expect("HMAC accepts keys of any length");
        Ok(Self { bytes, id, signing })
    }

    /// Whether this is the well-known development secret.
    pub fn is_dev_default(&self) -> bool {
        self.bytes == DEV_SECRET.as_bytes()
    }

    /// The key id: eight hex characters derived from the secret (it names the key in
    /// signatures, tokens and bookmarks without revealing it), so two deployments with the same
    /// secret agree on it without configuring one.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// A purpose-specific key, so a signature of one kind can never pass for another.
    pub(crate) fn derive(&self, purpose: &str) -> Vec<u8> {
        hmac_sha256(&self.bytes, purpose.as_bytes()).to_vec()
    }

    /// The signature's HMAC, keyed (a copy of the prepared state). Tokens and bookmarks still
    /// derive their keys per use: only the signature is paid on every request.
    pub(crate) fn signing_mac(&self) -> HmacSha256 {
        self.signing.clone()
    }
}

const KEY_ID_PURPOSE: &str = "roam/key-id/v1";

pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

pub(crate) fn hmac_verify(key: &[u8], message: &[u8], tag: &[u8]) -> bool {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(message);
    mac.verify_slice(tag).is_ok()
}

const SIGNATURE_PURPOSE: &str = "roam/edge-origin-signature/v1";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_secrets_are_refused_and_none_prints() {
        let secret = SharedSecret::parse("0123456789abcdef-test").unwrap();
        assert!(SharedSecret::parse("short").is_err());
        assert!(format!("{secret:?}").contains("redacted"));
    }
}
