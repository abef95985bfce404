//! The edge↔origin request signature. Its key is the [`SharedSecret`] (re-exported here, where
//! callers of [`sign`] and [`verify`] look for it).
//!
//! The edge signs a canonical string of the request; an origin recomputes it from what it
//! received and compares in constant time. Covered: method, path and query, a timestamp (so a
//! captured request replays only within a short window), the SHA-256 of the body, every
//! `x-roam-*` tag, the `idempotency-key` and the `traceparent` (so only the edge decides which
//! trace, and which sampling decision, an origin continues). Any other `x-roam-*` header an
//! origin sees is covered too, so nothing can be smuggled in beside the signed set.

use std::borrow::Cow;

use hmac::Mac;
use sha2::{Digest, Sha256};

use crate::headers::{IDEMPOTENCY_KEY, KEY_ID, ROAM_HEADER_PREFIX, SIGNATURE, TIMESTAMP};
use crate::keyring::Keyring;
use crate::secret::HmacSha256;
pub use crate::secret::{SharedSecret, DEV_SECRET};
use crate::trace::TRACEPARENT;

/// How far a signature's timestamp may be from the verifier's clock, either way, in seconds.
pub const DEFAULT_WINDOW_SECS: i64 = 30;

/// Lowercase hex SHA-256 of a request body.
pub fn body_digest(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// The parts of a request that are signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedParts<'a> {
    /// `GET`, `POST`, … (compared case-sensitively after uppercasing).
    pub method: &'a str,
    /// Path and query exactly as sent, e.g. `/api/v1/cities/rome/vehicles?status=available`.
    pub path_and_query: &'a str,
    /// Unix seconds, as sent in `x-roam-timestamp`.
    pub timestamp: i64,
    /// [`body_digest`] of the body.
    pub body_sha256: String,
    /// Every signed header (`x-roam-*` other than the signature and timestamp,
    /// `idempotency-key` and `traceparent`), names lowercase, values as sent.
    pub headers: Vec<(String, String)>,
}

/// Whether a header takes part in the signature.
pub fn is_signed_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    (name.starts_with(ROAM_HEADER_PREFIX) && name != SIGNATURE && name != TIMESTAMP)
        || name == IDEMPOTENCY_KEY
        || name == TRACEPARENT
}

impl SignedParts<'_> {
    /// The canonical string: one field per line, signed headers sorted by name.
    pub fn canonical(&self) -> String {
        let mut out = Vec::with_capacity(256);
        self.write_canonical(&mut |piece| out.extend_from_slice(piece));
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Hands the canonical string to `out` piece by piece (the MAC takes it so, without the
    /// string being built). Names are lowercased only when they are not already.
    fn write_canonical(&self, out: &mut dyn FnMut(&[u8])) {
        let mut headers: Vec<(Cow<'_, str>, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| (lowercase(n), v.as_str()))
            .collect();
        headers.sort_unstable();
        out(b"roam-signature-v1\n");
        out(uppercase(self.method).as_bytes());
        out(b"\n");
        out(self.path_and_query.as_bytes());
        out(b"\n");
        out(self.timestamp.to_string().as_bytes());
        out(b"\n");
        out(self.body_sha256.as_bytes());
        out(b"\n");
        for (name, value) in &headers {
            out(name.as_bytes());
            out(b":");
            out(value.trim().as_bytes());
            out(b"\n");
        }
    }

    /// The HMAC of the canonical string under the signature key.
    fn mac(&self, secret: &SharedSecret) -> HmacSha256 {
        let mut mac = secret.signing_mac();
        self.write_canonical(&mut |piece| mac.update(piece));
        mac
    }
}

fn lowercase(name: &str) -> Cow<'_, str> {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    }
}

fn uppercase(method: &str) -> Cow<'_, str> {
    if method.bytes().any(|b| b.is_ascii_lowercase()) {
        Cow::Owned(method.to_ascii_uppercase())
    } else {
        Cow::Borrowed(method)
    }
}

/// Why a signature was refused (all become 401; the kind goes to the log).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `x-roam-signature` or `x-roam-timestamp`.
    #[error("request is not signed")]
    Missing,
    /// The timestamp is not a number.
    #[error("signature timestamp is malformed")]
    MalformedTimestamp,
    /// The timestamp is outside the window.
    #[error("signature is {0} s away from now, outside the allowed window")]
    Stale(i64),
    /// The signature does not match.
    #[error("signature does not match the request")]
    Mismatch,
}

/// Signs a request: the value for `x-roam-signature`.
pub fn sign(secret: &SharedSecret, parts: &SignedParts<'_>) -> String {
    hex::encode(parts.mac(secret).finalize().into_bytes())
}

/// Parses `x-roam-timestamp`.
pub fn parse_timestamp(value: Option<&str>) -> Result<i64, SignatureError> {
    let value = value.ok_or(SignatureError::Missing)?.trim();
    if value.is_empty() || value.len() > 12 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureError::MalformedTimestamp);
    }
    value
        .parse()
        .map_err(|_| SignatureError::MalformedTimestamp)
}

/// Verifies a request's signature: fresh within `window_secs` of `now` and matching under the
/// key its `x-roam-key-id` names (any key of the ring when it names none).
pub fn verify(
    keys: &Keyring,
    parts: &SignedParts<'_>,
    signature_hex: Option<&str>,
    now: i64,
    window_secs: i64,
) -> Result<(), SignatureError> {
    let signature_hex = signature_hex.ok_or(SignatureError::Missing)?;
    let skew = now.saturating_sub(parts.timestamp);
    if skew.saturating_abs() > window_secs {
        return Err(SignatureError::Stale(skew));
    }
    // Only the exact form `sign` produces is accepted, so no two strings verify alike.
    let canonical_hex = signature_hex.len() == 64
        && signature_hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !canonical_hex {
        return Err(SignatureError::Mismatch);
    }
    let mut tag = [0u8; 32];
    hex::decode_to_slice(signature_hex, &mut tag).map_err(|_| SignatureError::Mismatch)?;
    let key_id = parts
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(KEY_ID))
        .map(|(_, id)| id.trim());
    // The canonical string is fed to each candidate's keyed MAC; at most two keys are tried,
    // and only one when the request names its key.
    keys.candidates(key_id)
        .any(|secret| parts.mac(secret).verify_slice(&tag).is_ok())
        .then_some(())
        .ok_or(SignatureError::Mismatch)
}

#[cfg(test)]
mod tests;
