//! Read-your-writes bookmarks. A successful write returns one; a read that presents it is
//! never answered from a cache entry fetched before the write.
//!
//! Format: `b1.<unix milliseconds>.<base64url(first 16 bytes of HMAC-SHA256)>`. It is signed so
//! a client cannot mint far-future bookmarks that would bypass the edge cache forever.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::signature::{hmac_sha256, SharedSecret};

const BOOKMARK_PURPOSE: &str = "roam/bookmark/v1";
const PREFIX: &str = "b1.";
/// How far in the future (ms) a bookmark may be, to allow for clock differences.
pub const MAX_FUTURE_SKEW_MS: i64 = 60_000;

fn tag(secret: &SharedSecret, written_at_ms: i64) -> String {
    let mac = hmac_sha256(
        &secret.derive(BOOKMARK_PURPOSE),
        written_at_ms.to_string().as_bytes(),
    );
    URL_SAFE_NO_PAD.encode(&mac[..16])
}

/// A bookmark for a write acknowledged at `written_at_ms`.
pub fn issue(secret: &SharedSecret, written_at_ms: i64) -> String {
    format!("{PREFIX}{written_at_ms}.{}", tag(secret, written_at_ms))
}

/// The write time a bookmark stands for, if it is genuine and not from the future.
pub fn verify(secret: &SharedSecret, bookmark: &str, now_ms: i64) -> Option<i64> {
    let rest = bookmark.trim().strip_prefix(PREFIX)?;
    let (ms, presented) = rest.split_once('.')?;
    if ms.is_empty() || ms.len() > 15 || !ms.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let written_at_ms: i64 = ms.parse().ok()?;
    let expected = tag(secret, written_at_ms);
    let genuine = subtle_eq(expected.as_bytes(), presented.as_bytes());
    (genuine && written_at_ms <= now_ms.saturating_add(MAX_FUTURE_SKEW_MS)).then_some(written_at_ms)
}

/// Constant-time equality (length is not secret).
fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The newest of several bookmarks (header and cookie may both be present).
pub fn newest(secret: &SharedSecret, candidates: &[&str], now_ms: i64) -> Option<i64> {
    candidates
        .iter()
        .filter_map(|b| verify(secret, b, now_ms))
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn secret() -> SharedSecret {
        SharedSecret::parse("bookmark-test-secret-1").unwrap()
    }

    #[test]
    fn round_trip_and_refusals() {
        let b = issue(&secret(), 1_700_000_000_000);
        assert_eq!(
            verify(&secret(), &b, 1_700_000_000_500),
            Some(1_700_000_000_000)
        );
        assert_eq!(
            verify(&secret(), &b, 1_700_000_000_000 - 61_000),
            None,
            "from the future"
        );
        let other = SharedSecret::parse("other-bookmark-secret").unwrap();
        assert_eq!(verify(&other, &b, 1_800_000_000_000), None);
        assert_eq!(verify(&secret(), "b1.1700000000000", i64::MAX), None);
        let older = issue(&secret(), 5);
        assert_eq!(
            newest(&secret(), &[&older, &b, "junk"], i64::MAX),
            Some(1_700_000_000_000)
        );
    }

    proptest! {
        #[test]
        fn altered_bookmarks_are_refused(pos in any::<prop::sample::Index>(), flip in 1u8..=127) {
            let b = issue(&secret(), 1_700_000_000_000);
            let mut bytes = b.clone().into_bytes();
            let i = pos.index(bytes.len());
            bytes[i] ^= flip;
            if let Ok(altered) = String::from_utf8(bytes) {
                if altered.trim() != b {
                    prop_assert_eq!(verify(&secret(), &altered, i64::MAX), None);
                }
            }
        }

        #[test]
        fn garbage_never_panics(s in "\\PC{0,80}") {
            let _ = verify(&secret(), &s, 0);
        }
    }
}
