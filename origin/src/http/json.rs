//! The JSON body extractor: 415, 400 and 422 sorted apart, the field named.

use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use roam_shared::request::is_json;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// A JSON body: 415 unless the content type is JSON, 400 when it does not parse, 422 naming
/// the field when it parses but has the wrong shape. (413 happened earlier, when the
/// signature check buffered the body.)
pub(super) struct Json<T>(pub T);

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
    }
}
