//! Our extractors: every rejection is one of our problem+json errors, never axum's plain text.

use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE};
use axum::http::request::Parts;
use roam_shared::headers::{self, GeoTags};
use roam_shared::token::{self, SessionClaims};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::app::AppState;
use crate::error::{Error, Result};
use crate::signing::Verified;

/// A JSON body: 415 unless the content type is JSON, 400 when it does not parse, 422 naming
/// the field when it parses but has the wrong shape. (413 happened earlier, when the
/// signature check buffered the body.)
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self> {
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !is_json(content_type) {
            return Err(Error::UnsupportedMediaType(
                "the body must be JSON (content-type: application/json)".into(),
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| Error::Malformed("the body could not be read".into()))?;
        parse_json(&bytes).map(Json)
    }
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses JSON, sorting syntax errors (400) from shape errors (422 with the field).
///
/// Syntax is checked first, on its own: serde_json's typed errors do not sort the two
/// reliably (a mistyped enum, `{"type":5}`, is "expected value", a syntax error; `0:` fails
/// on the type of `0` before it reaches the stray `:`).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice::<serde_json::Value>(bytes).map_err(|e| malformed(&e))?;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = match inner.classify() {
            serde_json::error::Category::Data => strip_position(&inner.to_string()),
            _ => "has the wrong type".to_string(),
        };
        let field = if path != "." {
            path
        } else {
            backticked(&message).unwrap_or_else(|| "body".into())
        };
        Error::invalid(field, message)
    })?;
    de.end().map_err(|e| malformed(&e))?;
    Ok(value)
}

fn malformed(e: &serde_json::Error) -> Error {
    Error::Malformed(format!(
        "the body is not valid JSON: {}",
        strip_position(&e.to_string())
    ))
}

/// `missing field `x`` names the field only in the message.
fn backticked(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_string())
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// Reads the path parameters as text; a city must be one the map serves (else 404), an id a
/// UUID (a non-UUID id is an unknown id: 404).
async fn path_params(parts: &mut Parts, state: &AppState) -> Result<(String, Option<Uuid>)> {
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
    if state.config.map.city(&city).is_none() {
        return Err(Error::NotFound(format!(
            "roam does not serve a city `{city}`"
        )));
    }
    Ok((city, id))
}

/// `{city}` of the path, known to the map.
pub struct CityPath(pub String);

impl FromRequestParts<AppState> for CityPath {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        Ok(Self(path_params(parts, state).await?.0))
    }
}

/// `{city}` and `{id}` of the path.
pub struct CityIdPath(pub String, pub Uuid);

impl FromRequestParts<AppState> for CityIdPath {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        match path_params(parts, state).await? {
            (city, Some(id)) => Ok(Self(city, id)),
            (_, None) => Err(Error::NotFound("no id in the path".into())),
        }
    }
}

/// The signed-in user: a valid session token in `authorization: Bearer` or the session cookie.
pub struct Auth(pub SessionClaims);

/// The session token of a request, if it carries one.
pub fn session_token(parts: &Parts) -> Option<&str> {
    if let Some(value) = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        return token::bearer(value);
    }
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == headers::SESSION_COOKIE)
        .map(|(_, value)| value)
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let token =
            session_token(parts).ok_or_else(|| Error::Unauthenticated("sign in first".into()))?;
        let now = chrono::Utc::now().timestamp();
        token::verify(&state.config.secret, token, now)
            .map(Auth)
            .map_err(|e| Error::Unauthenticated(format!("{e}; sign in again")))
    }
}

/// The `idempotency-key` of a write and the hash of the request it came with.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    /// The key (validated shape), if the request carried one.
    pub key: Option<String>,
    /// SHA-256 of method, path and query, caller and body digest.
    pub request_hash: String,
}

impl FromRequestParts<AppState> for IdempotencyKey {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
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
            .and_then(|t| {
                token::verify(&state.config.secret, t, chrono::Utc::now().timestamp()).ok()
            })
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
pub struct Geo(pub GeoTags);

impl<S: Send + Sync> FromRequestParts<S> for Geo {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self> {
        Ok(Self(GeoTags::from_headers(|name| {
            parts.headers.get(name).and_then(|v| v.to_str().ok())
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roam_shared::api::{NewVehicle, StartRide};

    #[test]
    fn json_errors_are_sorted_and_name_the_field() {
        let status = |r: Result<StartRide>| r.map(|_| 200).unwrap_or_else(|e| e.status().as_u16());
        assert_eq!(status(parse_json(b"{")), 400);
        assert_eq!(
            status(parse_json(
                br#"{"vehicle_id":"6a0f2c4e-0000-4000-8000-000000000000"} x"#
            )),
            400
        );
        assert_eq!(status(parse_json(b"")), 400);
        assert_eq!(status(parse_json(b"[]")), 422);
        let Err(Error::Invalid { field, .. }) = parse_json::<StartRide>(b"{}") else {
            panic!()
        };
        assert_eq!(field, "vehicle_id");
        let Err(Error::Invalid { field, .. }) = parse_json::<StartRide>(br#"{"vehicle_id":"x"}"#)
        else {
            panic!()
        };
        assert_eq!(field, "vehicle_id");
        let Err(Error::Invalid { field, .. }) =
            parse_json::<NewVehicle>(br#"{"type":"car","last_location":"x"}"#)
        else {
            panic!()
        };
        assert_eq!(field, "type");
        let Err(Error::Invalid { field, .. }) =
            parse_json::<NewVehicle>(br#"{"type":5,"last_location":"x"}"#)
        else {
            panic!("a mistyped enum is a 422")
        };
        assert_eq!(field, "type");
        let too_long = br#"["6a0f2c4e-0000-4000-8000-000000000000",null]"#;
        assert_eq!(status(parse_json::<StartRide>(too_long)), 422);
        assert_eq!(status(parse_json::<StartRide>(b"0:")), 400);
        assert!(
            is_json("application/json; charset=utf-8") && is_json("application/merge-patch+json")
        );
        assert!(!is_json("text/plain") && !is_json(""));
    }
}
