//! Session tokens: signed, expiring, verifiable by the edge and every origin without a
//! database read. Format: `v2.<key id>.<base64url(JSON claims)>.<base64url(HMAC-SHA256)>`, the
//! HMAC over everything before its dot. The older `v1.<claims>.<tag>` (no key id) is still
//! accepted under any key of the ring until the last of them has expired.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::keyring::Keyring;
use crate::secret::{hmac_sha256, hmac_verify, SharedSecret};

const V1_PURPOSE: &str = "roam/session-token/v1";
const V2_PURPOSE: &str = "roam/session-token/v2";
/// Tokens longer than this are refused before any decoding.
pub const MAX_TOKEN_LEN: usize = 1024;
/// How long a session lasts, in seconds.
pub const SESSION_TTL_SECS: i64 = 12 * 3600;

/// What a session token says about its holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionClaims {
    /// The user's id.
    pub sub: Uuid,
    /// The user's home city slug (routes `/me/…` requests without a lookup).
    pub city: String,
    /// This session's id (so a log-out can be recorded against it); a UUIDv7 from the
    /// origin, whose timestamp says to the millisecond when the session began.
    pub sid: Uuid,
    /// Issued at, unix seconds.
    pub iat: i64,
    /// Expires at, unix seconds.
    pub exp: i64,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not of the token's shape (or too long, or not base64url, or not the claims JSON).
    #[error("session token is malformed")]
    Malformed,
    /// Signed with another key or altered.
    #[error("session token signature is invalid")]
    BadSignature,
    /// Past its expiry.
    #[error("session token has expired")]
    Expired,
}

/// Issues a token for `claims` under `secret` (the ring's current key).
pub fn issue(secret: &SharedSecret, claims: &SessionClaims) -> String {
    let payload = serde_json::to_vec(claims).unwrap_or_default();
    let body = format!("v2.{}.{}", secret.id(), URL_SAFE_NO_PAD.encode(payload));
    let tag = hmac_sha256(&secret.derive(V2_PURPOSE), body.as_bytes());
    format!("{body}.{}", URL_SAFE_NO_PAD.encode(tag))
}

/// Verifies a token and returns its claims when it is intact, signed by a key of the ring
/// (the one it names) and unexpired at `now`.
pub fn verify(keys: &Keyring, token: &str, now: i64) -> Result<SessionClaims, TokenError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Malformed);
    }
    let (body, tag) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
    let (purpose, key_id, payload) = if let Some(rest) = body.strip_prefix("v2.") {
        let (key_id, payload) = rest.split_once('.').ok_or(TokenError::Malformed)?;
        (V2_PURPOSE, Some(key_id), payload)
    } else {
        let payload = body.strip_prefix("v1.").ok_or(TokenError::Malformed)?;
        (V1_PURPOSE, None, payload)
    };
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .map_err(|_| TokenError::Malformed)?;
    let genuine = keys
        .candidates(key_id)
        .any(|secret| hmac_verify(&secret.derive(purpose), body.as_bytes(), &tag));
    if !genuine {
        return Err(TokenError::BadSignature);
    }
    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| TokenError::Malformed)?;
    let claims: SessionClaims =
        serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
    if now >= claims.exp {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

/// The token in an `Authorization: Bearer …` value.
pub fn bearer(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn secret() -> SharedSecret {
        SharedSecret::parse("token-test-secret-0123").unwrap()
    }

    fn ring() -> Keyring {
        secret().into()
    }

    fn claims() -> SessionClaims {
        SessionClaims {
            sub: Uuid::from_u128(7),
            city: "rome".into(),
            sid: Uuid::from_u128(9),
            iat: 1_000,
            exp: 1_000 + SESSION_TTL_SECS,
        }
    }

    #[test]
    fn round_trip_and_expiry() {
        let token = issue(&secret(), &claims());
        assert_eq!(verify(&ring(), &token, 1_001), Ok(claims()));
        assert_eq!(
            verify(&ring(), &token, claims().exp),
            Err(TokenError::Expired)
        );
        let other = SharedSecret::parse("another-token-secret-x").unwrap();
        assert_eq!(
            verify(&other.into(), &token, 1_001),
            Err(TokenError::BadSignature)
        );
        assert_eq!(verify(&ring(), "v1.abc", 0), Err(TokenError::Malformed));
        assert_eq!(verify(&ring(), "nope", 0), Err(TokenError::Malformed));
        assert_eq!(bearer("Bearer abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
    }

    #[test]
    fn tokens_of_either_key_verify_during_a_rotation_and_old_ones_still_do() {
        let new = SharedSecret::parse("the-new-token-secret").unwrap();
        let ring = Keyring::new(new.clone(), Some(secret()));
        let by_new = issue(&new, &claims());
        assert!(by_new.starts_with(&format!("v2.{}.", new.id())));
        assert_eq!(verify(&ring, &by_new, 1_001), Ok(claims()));
        assert_eq!(
            verify(&ring, &issue(&secret(), &claims()), 1_001),
            Ok(claims())
        );
        // A token from before key ids (v1), made here the way it was then.
        let body = format!(
            "v1.{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims()).unwrap())
        );
        let tag = hmac_sha256(&secret().derive(V1_PURPOSE), body.as_bytes());
        let v1 = format!("{body}.{}", URL_SAFE_NO_PAD.encode(tag));
        assert_eq!(verify(&ring, &v1, 1_001), Ok(claims()));
        // Once the rotation is over, the old key's tokens are refused.
        assert_eq!(
            verify(&new.clone().into(), &v1, 1_001),
            Err(TokenError::BadSignature)
        );
        // Naming the other key does not make a tag verify.
        let renamed = by_new.replacen(new.id(), secret().id(), 1);
        assert_eq!(
            verify(&ring, &renamed, 1_001),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn a_token_is_not_a_request_signature() {
        // Keys are derived per purpose: a token's tag never verifies as anything else.
        let token = issue(&secret(), &claims());
        let (body, _) = token.rsplit_once('.').unwrap();
        let forged = format!(
            "{body}.{}",
            URL_SAFE_NO_PAD.encode(hmac_sha256(b"x", body.as_bytes()))
        );
        assert_eq!(
            verify(&ring(), &forged, 1_001),
            Err(TokenError::BadSignature)
        );
    }

    proptest! {
        #[test]
        fn any_altered_byte_is_refused(pos in any::<prop::sample::Index>(), flip in 1u8..=127) {
            let token = issue(&secret(), &claims());
            let mut bytes = token.into_bytes();
            let i = pos.index(bytes.len());
            bytes[i] ^= flip;
            if let Ok(altered) = String::from_utf8(bytes) {
                prop_assert!(verify(&ring(), &altered, 1_001).is_err());
            }
        }

        #[test]
        fn garbage_never_panics(s in "\\PC{0,200}") {
            let _ = verify(&ring(), &s, 0);
        }
    }
}
