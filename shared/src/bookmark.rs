//! Read-your-writes bookmarks. A successful write returns one; a read that presents it is
//! never answered from a cache entry fetched before the write, and a read that gathers data
//! from several regions (`/me/rides`) also asks the regions the bookmark names, so a write
//! there shows even before the user's home region has heard of it.
//!
//! Format: `b2.<unix milliseconds>.<regions joined by '+'>.<base64url(first 16 bytes of
//! HMAC-SHA256)>`. It is signed so a client can neither mint far-future bookmarks that would
//! bypass the edge cache forever nor make a read fan out to every region. The older `b1.<ms>.
//! <tag>` form (no regions) is still accepted: it says when, not where.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::signature::{hmac_sha256, SharedSecret};

const V1_PURPOSE: &str = "roam/bookmark/v1";
const V2_PURPOSE: &str = "roam/bookmark/v2";
/// How far in the future (ms) a bookmark may be, to allow for clock differences.
pub const MAX_FUTURE_SKEW_MS: i64 = 60_000;
/// Most regions one bookmark names.
pub const MAX_REGIONS: usize = 16;

/// What a genuine bookmark stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bookmark {
    /// When the (newest) write was acknowledged, unix ms.
    pub written_at_ms: i64,
    /// The regions written to; `None` for a bookmark that does not say (`b1`).
    pub regions: Option<Vec<String>>,
}

fn tag(secret: &SharedSecret, purpose: &str, signed: &str) -> String {
    let mac = hmac_sha256(&secret.derive(purpose), signed.as_bytes());
    URL_SAFE_NO_PAD.encode(&mac[..16])
}

fn is_region_name(r: &str) -> bool {
    !r.is_empty()
        && r.len() <= 32
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A bookmark for writes to `regions` acknowledged at `written_at_ms` (regions that are not
/// plain names, and any past [`MAX_REGIONS`], are left out).
pub fn issue(secret: &SharedSecret, written_at_ms: i64, regions: &[&str]) -> String {
    let mut names: Vec<&str> = regions
        .iter()
        .copied()
        .filter(|r| is_region_name(r))
        .collect();
    names.sort_unstable();
    names.dedup();
    names.truncate(MAX_REGIONS);
    let signed = format!("{written_at_ms}.{}", names.join("+"));
    format!("b2.{signed}.{}", tag(secret, V2_PURPOSE, &signed))
}

/// What a bookmark stands for, if it is genuine and not from the future.
pub fn verify(secret: &SharedSecret, bookmark: &str, now_ms: i64) -> Option<Bookmark> {
    let bookmark = bookmark.trim();
    let (signed, presented, purpose, regions) = if let Some(rest) = bookmark.strip_prefix("b2.") {
        let (signed, presented) = rest.rsplit_once('.')?;
        let (_, list) = signed.split_once('.')?;
        (signed, presented, V2_PURPOSE, Some(parse_regions(list)?))
    } else {
        let (signed, presented) = bookmark.strip_prefix("b1.")?.split_once('.')?;
        (signed, presented, V1_PURPOSE, None)
    };
    let ms = signed.split('.').next()?;
    if ms.is_empty() || ms.len() > 15 || !ms.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let written_at_ms: i64 = ms.parse().ok()?;
    let expected = tag(secret, purpose, signed);
    let genuine = subtle_eq(expected.as_bytes(), presented.as_bytes());
    (genuine && written_at_ms <= now_ms.saturating_add(MAX_FUTURE_SKEW_MS)).then_some(Bookmark {
        written_at_ms,
        regions,
    })
}

/// The `+`-joined region list of a `b2` bookmark.
fn parse_regions(list: &str) -> Option<Vec<String>> {
    if list.is_empty() {
        return Some(Vec::new());
    }
    let regions: Vec<String> = list.split('+').map(str::to_string).collect();
    (regions.len() <= MAX_REGIONS && regions.iter().all(|r| is_region_name(r))).then_some(regions)
}

/// Constant-time equality (length is not secret).
fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What several presented bookmarks (header and cookie may both be present) stand for
/// together: the newest write time and every region any of them names (unknown if one of
/// them does not say). `None` when none is genuine.
pub fn combined(secret: &SharedSecret, candidates: &[&str], now_ms: i64) -> Option<Bookmark> {
    candidates
        .iter()
        .filter_map(|b| verify(secret, b, now_ms))
        .reduce(|a, b| Bookmark {
            written_at_ms: a.written_at_ms.max(b.written_at_ms),
            regions: match (a.regions, b.regions) {
                (Some(mut x), Some(y)) => {
                    x.extend(y);
                    x.sort_unstable();
                    x.dedup();
                    Some(x)
                }
                _ => None,
            },
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn secret() -> SharedSecret {
        SharedSecret::parse("bookmark-test-secret-1").unwrap()
    }

    fn at(ms: i64, regions: &[&str]) -> Bookmark {
        Bookmark {
            written_at_ms: ms,
            regions: Some(regions.iter().map(|r| r.to_string()).collect()),
        }
    }

    #[test]
    fn round_trip_and_refusals() {
        let b = issue(
            &secret(),
            1_700_000_000_000,
            &["us-east", "eu-west", "us-east"],
        );
        assert_eq!(
            verify(&secret(), &b, 1_700_000_000_500),
            Some(at(1_700_000_000_000, &["eu-west", "us-east"]))
        );
        assert_eq!(
            verify(&secret(), &b, 1_700_000_000_000 - 61_000),
            None,
            "from the future"
        );
        let other = SharedSecret::parse("other-bookmark-secret").unwrap();
        assert_eq!(verify(&other, &b, 1_800_000_000_000), None);
        assert_eq!(
            verify(&secret(), "b2.1700000000000.eu-west", i64::MAX),
            None
        );
        let forged = b.replace("eu-west+us-east", "eu-west+us-east+us-west");
        assert_eq!(
            verify(&secret(), &forged, i64::MAX),
            None,
            "regions are signed"
        );
        let none = issue(&secret(), 7, &[]);
        assert_eq!(verify(&secret(), &none, i64::MAX), Some(at(7, &[])));
        let odd = issue(&secret(), 7, &["Eu West", "x+y", "ok"]);
        assert_eq!(verify(&secret(), &odd, i64::MAX), Some(at(7, &["ok"])));
    }

    #[test]
    fn version_one_says_when_but_not_where() {
        let tag = tag(&secret(), V1_PURPOSE, "5");
        let v1 = format!("b1.5.{tag}");
        let read = verify(&secret(), &v1, i64::MAX);
        assert_eq!(
            read,
            Some(Bookmark {
                written_at_ms: 5,
                regions: None
            })
        );
    }

    #[test]
    fn combining_takes_the_newest_time_and_every_region() {
        let a = issue(&secret(), 5, &["us-west"]);
        let b = issue(&secret(), 1_700_000_000_000, &["eu-west"]);
        assert_eq!(
            combined(&secret(), &[&a, &b, "junk"], i64::MAX),
            Some(at(1_700_000_000_000, &["eu-west", "us-west"]))
        );
        let v1 = format!("b1.9.{}", tag(&secret(), V1_PURPOSE, "9"));
        let mixed = combined(&secret(), &[&a, &v1], i64::MAX);
        assert_eq!(
            mixed.map(|m| m.regions),
            Some(None),
            "one says nothing of where"
        );
        assert_eq!(combined(&secret(), &["junk"], i64::MAX), None);
    }

    proptest! {
        #[test]
        fn altered_bookmarks_are_refused(pos in any::<prop::sample::Index>(), flip in 1u8..=127) {
            let b = issue(&secret(), 1_700_000_000_000, &["eu-west"]);
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
