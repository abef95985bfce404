//! Header names the edge and origins agree on, and the geo tags the edge attaches.

use serde::{Deserialize, Serialize};

/// Prefix of every header only the edge may set; the edge drops client-sent ones.
pub const ROAM_HEADER_PREFIX: &str = "x-roam-";
/// The user's ISO country code.
pub const COUNTRY: &str = "x-roam-country";
/// The user's city as the edge detected it (free text, percent-encoded).
pub const CITY: &str = "x-roam-city";
/// The PoP (IATA code) that took the request.
pub const COLO: &str = "x-roam-colo";
/// The region nearest the user.
pub const REGION: &str = "x-roam-region";
/// The user's latitude.
pub const LAT: &str = "x-roam-lat";
/// The user's longitude.
pub const LON: &str = "x-roam-lon";
/// Unix seconds when the edge signed the request.
pub const TIMESTAMP: &str = "x-roam-timestamp";
/// HMAC-SHA256 of the canonical request, hex.
pub const SIGNATURE: &str = "x-roam-signature";
/// The id of the key the request is signed with (itself signed: an `x-roam-*` header).
pub const KEY_ID: &str = "x-roam-key-id";
/// Read-your-writes bookmark returned by writes and presented by reads.
pub const BOOKMARK: &str = "x-roam-bookmark";
/// Regions the client wrote to recently, from its read-your-writes bookmark (comma-separated,
/// or `*` when the bookmark does not say): set by the edge, so reads that gather data from
/// several regions (`/me/rides`) ask these too, before the rider's home has heard of a write.
pub const RECENT_WRITES: &str = "x-roam-recent-writes";
/// `hit | miss | stale | bypass`: how the edge cache answered.
pub const CACHE: &str = "x-roam-cache";
/// The region whose origin produced the response (or `edge`).
pub const SERVED_BY: &str = "x-roam-served-by";
/// Request id, accepted from clients when well-formed, else generated.
pub const REQUEST_ID: &str = "x-request-id";
/// Idempotency key of a write.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Cookie that carries the session token for browsers.
pub const SESSION_COOKIE: &str = "roam_session";
/// Cookie that carries the read-your-writes bookmark for browsers.
pub const BOOKMARK_COOKIE: &str = "roam_bookmark";
/// Cookie with the home city of the last user who signed up or logged in with this browser:
/// the edge sends their next log-in straight to that city's region.
pub const HOME_COOKIE: &str = "roam_home";

/// Whether a client-supplied id (request id or idempotency key) is acceptable: 1–128
/// characters of `[A-Za-z0-9._:-]`. Anything else is replaced (request id) or rejected
/// (idempotency key).
pub fn is_valid_token_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// The geo tags the edge attaches to every forwarded request (all signed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeoTags {
    /// `x-roam-country`.
    pub country: String,
    /// `x-roam-city` (decoded).
    pub city: String,
    /// `x-roam-colo`.
    pub colo: String,
    /// `x-roam-region`: the region nearest the user.
    pub region: String,
    /// `x-roam-lat`.
    pub lat: String,
    /// `x-roam-lon`.
    pub lon: String,
}

impl GeoTags {
    /// The tags as `(header name, header value)` pairs, values made header-safe
    /// (percent-encoded UTF-8: `cf.city` can be "Zürich").
    pub fn to_headers(&self) -> [(&'static str, String); 6] {
        [
            (COUNTRY, encode_value(&self.country)),
            (CITY, encode_value(&self.city)),
            (COLO, encode_value(&self.colo)),
            (REGION, encode_value(&self.region)),
            (LAT, encode_value(&self.lat)),
            (LON, encode_value(&self.lon)),
        ]
    }

    /// Reads the tags back from a header lookup; missing headers become empty strings.
    pub fn from_headers<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Self {
        let read = |name| get(name).map(decode_value).unwrap_or_default();
        Self {
            country: read(COUNTRY),
            city: read(CITY),
            colo: read(COLO),
            region: read(REGION),
            lat: read(LAT),
            lon: read(LON),
        }
    }
}

/// Percent-encodes everything outside printable ASCII, plus `%` itself.
pub fn encode_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if (0x20..0x7f).contains(&b) && b != b'%' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Reverses [`encode_value`]; malformed escapes are kept as they are.
pub fn decode_value(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| value.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ids_are_checked() {
        assert!(is_valid_token_id("2f1c-aa:01.x_y"));
        assert!(!is_valid_token_id(""));
        assert!(!is_valid_token_id("a b"));
        assert!(!is_valid_token_id(&"a".repeat(129)));
    }

    proptest! {
        #[test]
        fn header_values_round_trip(s in "\\PC{0,40}") {
            let encoded = encode_value(&s);
            prop_assert!(encoded.bytes().all(|b| (0x20..0x7f).contains(&b)));
            prop_assert_eq!(decode_value(&encoded), s);
        }

        #[test]
        fn decoding_never_panics(s in "\\PC{0,40}") {
            let _ = decode_value(&s);
        }
    }
}
