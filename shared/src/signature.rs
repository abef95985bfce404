//! The edge↔origin request signature, and the shared secret it (and tokens, bookmarks) derive
//! their keys from.
//!
//! The edge signs a canonical string of the request; an origin recomputes it from what it
//! received and compares in constant time. Covered: method, path and query, a timestamp (so a
//! captured request replays only within a short window), the SHA-256 of the body, every
//! `x-roam-*` tag, the `idempotency-key` and the `traceparent` (so only the edge decides which
//! trace, and which sampling decision, an origin continues). Any other `x-roam-*` header an
//! origin sees is covered too, so nothing can be smuggled in beside the signed set.

use std::borrow::Cow;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::headers::{IDEMPOTENCY_KEY, KEY_ID, ROAM_HEADER_PREFIX, SIGNATURE, TIMESTAMP};
use crate::keyring::Keyring;
use crate::trace::TRACEPARENT;

type HmacSha256 = Hmac<Sha256>;

/// How far a signature's timestamp may be from the verifier's clock, either way, in seconds.
pub const DEFAULT_WINDOW_SECS: i64 = 30;

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
    fn signing_mac(&self) -> HmacSha256 {
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

const SIGNATURE_PURPOSE: &str = "roam/edge-origin-signature/v1";

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
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn secret() -> SharedSecret {
        SharedSecret::parse("0123456789abcdef-test").unwrap()
    }

    fn ring() -> Keyring {
        secret().into()
    }

    fn parts(body: &[u8]) -> SignedParts<'static> {
        SignedParts {
            method: "POST",
            path_and_query: "/api/v1/cities/rome/rides?x=1",
            timestamp: 1_700_000_000,
            body_sha256: body_digest(body),
            headers: vec![
                ("x-roam-city".into(), "Rome".into()),
                ("x-roam-country".into(), "IT".into()),
                ("idempotency-key".into(), "k-1".into()),
            ],
        }
    }

    #[test]
    fn round_trip_and_window() {
        let p = parts(b"{}");
        let sig = sign(&secret(), &p);
        assert_eq!(verify(&ring(), &p, Some(&sig), 1_700_000_010, 30), Ok(()));
        assert_eq!(
            verify(&ring(), &p, Some(&sig), 1_700_000_031, 30),
            Err(SignatureError::Stale(31))
        );
        assert_eq!(
            verify(&ring(), &p, Some(&sig), 1_699_999_960, 30),
            Err(SignatureError::Stale(-40))
        );
        assert_eq!(
            verify(&ring(), &p, None, 1_700_000_000, 30),
            Err(SignatureError::Missing)
        );
        let other = SharedSecret::parse("another-secret-of-16+").unwrap();
        assert_eq!(
            verify(&other.into(), &p, Some(&sig), 1_700_000_000, 30),
            Err(SignatureError::Mismatch)
        );
        assert!(SharedSecret::parse("short").is_err());
        assert!(format!("{:?}", secret()).contains("redacted"));
    }

    /// The value an edge or origin of any version computes for these parts (worked out with
    /// Python's hmac module from the documented canonical string): a change here would make
    /// edges and origins of two releases refuse each other.
    #[test]
    fn the_signature_of_known_parts_never_changes() {
        let mut p = parts(b"{}");
        p.method = "post";
        p.headers[0].0 = "X-Roam-City".into();
        assert_eq!(
            sign(&secret(), &p),
            "2519b7d12530136cac2905179679aaaad9033712c514195db44ff3142f0a0c28"
        );
    }

    #[test]
    fn during_a_rotation_either_key_verifies_under_its_own_id() {
        let new = SharedSecret::parse("the-new-shared-secret").unwrap();
        let old = secret();
        let ring = Keyring::new(new.clone(), Some(old.clone()));
        let signed_by = |key: &SharedSecret, id: Option<&str>| {
            let mut p = parts(b"{}");
            if let Some(id) = id {
                p.headers.push((KEY_ID.into(), id.into()));
            }
            let sig = sign(key, &p);
            verify(&ring, &p, Some(&sig), 1_700_000_000, 30)
        };
        assert_eq!(signed_by(&old, Some(old.id())), Ok(()));
        assert_eq!(signed_by(&new, Some(new.id())), Ok(()));
        assert_eq!(signed_by(&old, None), Ok(()), "made before key ids");
        assert_eq!(
            signed_by(&old, Some(new.id())),
            Err(SignatureError::Mismatch),
            "a key id names the one key to try"
        );
        let stranger = SharedSecret::parse("not-in-the-ring-at-all").unwrap();
        assert_eq!(
            signed_by(&stranger, Some(stranger.id())),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(signed_by(&stranger, None), Err(SignatureError::Mismatch));
    }

    #[test]
    fn header_order_does_not_matter_but_names_do() {
        let p = parts(b"{}");
        let mut reordered = p.clone();
        reordered.headers.reverse();
        assert_eq!(sign(&secret(), &p), sign(&secret(), &reordered));
        let mut extra = p.clone();
        extra.headers.push(("x-roam-city2".into(), "Paris".into()));
        assert_ne!(sign(&secret(), &p), sign(&secret(), &extra));
    }

    #[test]
    fn timestamps_are_parsed_strictly() {
        assert_eq!(parse_timestamp(Some("1700000000")), Ok(1_700_000_000));
        for bad in ["", "-1", "1e9", "0x10", "99999999999999"] {
            assert!(parse_timestamp(Some(bad)).is_err(), "{bad}");
        }
        assert_eq!(parse_timestamp(None), Err(SignatureError::Missing));
        assert!(is_signed_header("X-Roam-City"));
        assert!(is_signed_header("idempotency-key"));
        assert!(is_signed_header("Traceparent"));
        assert!(!is_signed_header("tracestate"));
        assert!(!is_signed_header("x-roam-signature"));
        assert!(!is_signed_header("authorization"));
    }

    proptest! {
        /// Flipping any single byte of any signed part makes verification fail.
        #[test]
        fn any_single_byte_change_fails(which in 0usize..5, pos in any::<prop::sample::Index>(),
                                        flip in 1u8..=255) {
            let body = br#"{"vehicle_id":"6a0f"}"#.to_vec();
            let p = parts(&body);
            let sig = sign(&secret(), &p);
            let mut method = p.method.as_bytes().to_vec();
            let mut path = p.path_and_query.as_bytes().to_vec();
            let mut body2 = body.clone();
            let mut city = p.headers[0].1.as_bytes().to_vec();
            let mut sig2 = sig.as_bytes().to_vec();
            let target = match which { 0 => &mut method, 1 => &mut path, 2 => &mut body2, 3 => &mut city, _ => &mut sig2 };
            let i = pos.index(target.len());
            target[i] ^= flip;
            let method = String::from_utf8_lossy(&method).into_owned();
            let path = String::from_utf8_lossy(&path).into_owned();
            let mut changed = SignedParts { method: &method, path_and_query: &path, body_sha256: body_digest(&body2), ..p.clone() };
            changed.headers[0].1 = String::from_utf8_lossy(&city).into_owned();
            let sig2 = String::from_utf8_lossy(&sig2).into_owned();
            // Uppercasing the method or trimming a header value may undo a flip; only
            // distinct canonical strings must fail.
            if changed.canonical() != p.canonical() || sig2 != sig {
                prop_assert!(verify(&ring(), &changed, Some(&sig2), p.timestamp, 30).is_err());
            }
        }

        #[test]
        fn a_timestamp_change_fails(delta in 1i64..30) {
            let p = parts(b"");
            let sig = sign(&secret(), &p);
            let moved = SignedParts { timestamp: p.timestamp + delta, ..p.clone() };
            prop_assert_eq!(verify(&ring(), &moved, Some(&sig), p.timestamp, 30), Err(SignatureError::Mismatch));
        }
    }
}
