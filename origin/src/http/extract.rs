//! Our extractors: every rejection is one of our problem+json errors, never axum's plain text.
//! Each is generic over the state and takes only the configuration from it ([`ConfigState`]). The
//! JSON body has its own module, `json`.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts, RawPathParams};
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use roam_shared::headers::{self, GeoTags};
use roam_shared::request;
use roam_shared::token::{self, SessionClaims};
use uuid::Uuid;

use super::signature::Verified;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::storage::idempotency::Guard;
use crate::storage::{revocations, Nodes};

/// A state the extractors can take the configuration from: any with `Arc<Config>: FromRef`.
pub(super) trait ConfigState: Send + Sync {
    fn config(&self) -> Arc<Config>;
}

impl<S: Send + Sync> ConfigState for S
where
    Arc<Config>: FromRef<S>,
{
    fn config(&self) -> Arc<Config> {
        Arc::<Config>::from_ref(self)
    }
}

/// Reads the path parameters as text; a city must be one the map serves (else 404), an id a
/// UUID (a non-UUID id is an unknown id: 404). Both path extractors below are this.
async fn path_params(
    parts: &mut Parts,
    state: &impl ConfigState,
) -> Result<(String, Option<Uuid>)> {
    let config = state.config();
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|_| Error::NotFound("no such resource".into()))?;
    let mut city = None;
    let mut id = None;
    for (name, value) in &params {
        match name {
            "city" => city = Some(value.to_string()),
            "id" => {
                let parsed = Uuid::parse_str(value)
                    .map_err(|_| Error::NotFound(format!("no such id `{value}`")))?;
                id = Some(parsed);
            }
            _ => {}
        }
    }
    let city = city.ok_or_else(|| Error::NotFound("no city in the path".into()))?;
    if config.map.city(&city).is_none() {
        return Err(Error::NotFound(format!(
            "roam does not serve a city `{city}`"
        )));
    }
    Ok((city, id))
}

/// `{city}` of the path, known to the map.
pub(super) struct CityPath(pub String);

impl<S: ConfigState> FromRequestParts<S> for CityPath {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        Ok(Self(path_params(parts, state).await?.0))
    }
}

/// `{city}` and `{id}` of the path.
pub(super) struct CityIdPath(pub String, pub Uuid);

impl<S: ConfigState> FromRequestParts<S> for CityIdPath {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        match path_params(parts, state).await? {
            (city, Some(id)) => Ok(Self(city, id)),
            (_, None) => Err(Error::NotFound("no id in the path".into())),
        }
    }
}

/// The signed-in user: a valid session token in `authorization: Bearer` or the session cookie.
pub(super) struct Auth(pub SessionClaims);

/// The session token of a request, if it carries one.
pub(super) fn session_token(parts: &Parts) -> Option<&str> {
    token_in(&parts.headers)
}

/// The session token in `authorization: Bearer` or the session cookie, if any (the rule is
/// [`request::session_token`], the edge's too).
pub(super) fn token_in(headers: &HeaderMap) -> Option<&str> {
    request::session_token(
        headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()),
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok()),
    )
}

impl<S: ConfigState> FromRequestParts<S> for Auth
where
    Nodes: FromRef<S>,
{
    type Rejection = Error;

    /// A token that is intact and unexpired, and whose session was not ended (checked on this
    /// origin's own node, which every log-out writes to).
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        let token =
            session_token(parts).ok_or_else(|| Error::Unauthenticated("sign in first".into()))?;
        let now = chrono::Utc::now().timestamp();
        let claims = token::verify(&state.config().keys, token, now)
            .map_err(|e| Error::Unauthenticated(format!("{e}; sign in again")))?;
        if revocations::is_revoked(Nodes::from_ref(state).local(), &claims).await? {
            return Err(Error::Unauthenticated(
                "this session has ended; sign in again".into(),
            ));
        }
        Ok(Auth(claims))
    }
}

/// The `idempotency-key` of a write and the hash of the request it came with.
#[derive(Debug, Clone)]
pub(super) struct IdempotencyKey {
    /// The key (validated shape), if the request carried one.
    pub key: Option<String>,
    /// SHA-256 of method, path and query, caller and body digest.
    pub request_hash: String,
}

impl IdempotencyKey {
    /// The guard of a write in `city`, when the request carried a key.
    pub(super) fn guard(&self, city: &str) -> Option<Guard> {
        Guard::new(self.key.as_deref(), &self.request_hash, city)
    }
}

impl<S: ConfigState> FromRequestParts<S> for IdempotencyKey {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        let config = state.config();
        let key = match parts.headers.get(headers::IDEMPOTENCY_KEY) {
            None => None,
            Some(v) => match v.to_str() {
                Ok(k) if headers::is_valid_token_id(k) => Some(k.to_string()),
                _ => {
                    return Err(Error::invalid(
                        headers::IDEMPOTENCY_KEY,
                        "must be 1 to 128 characters of A-Z a-z 0-9 . _ : -",
                    ))
                }
            },
        };
        let verified = parts
            .extensions
            .get::<Verified>()
            .cloned()
            .unwrap_or_default();
        let caller = session_token(parts)
            .and_then(|t| token::verify(&config.keys, t, chrono::Utc::now().timestamp()).ok())
            .map(|c| c.sub.to_string())
            .unwrap_or_default();
        let canonical = format!(
            "{}\n{}\n{caller}\n{}",
            parts.method,
            parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or(""),
            verified.body_sha256
        );
        Ok(Self {
            key,
            request_hash: roam_shared::signature::body_digest(canonical.as_bytes()),
        })
    }
}

/// The geo tags the edge attached (signed, so trustworthy).
pub(super) struct Geo(pub GeoTags);

impl<S: Send + Sync> FromRequestParts<S> for Geo {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self> {
        Ok(Self(GeoTags::from_headers(|name| {
            parts.headers.get(name).and_then(|v| v.to_str().ok())
        })))
    }
}
