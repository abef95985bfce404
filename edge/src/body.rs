//! A write's body as the edge reads it: JSON only (else 415) and at most
//! [`MAX_BODY_BYTES`] (else 413), by the rules of [`roam_shared::request`] that the origins
//! apply too.

use futures::StreamExt;
use roam_shared::request::{self, MAX_BODY_BYTES};
use worker::worker_sys::web_sys;
use worker::Request;

use crate::error::{EdgeError, Result};

/// Reads a write's body, given its `content-type` and `content-length` headers. The size is
/// checked while streaming, so a huge body is refused without being buffered.
pub async fn read_json(
    req: web_sys::Request,
    content_type: Option<&str>,
    content_length: Option<&str>,
) -> Result<Vec<u8>> {
    if !request::is_json(content_type.unwrap_or("")) {
        return Err(EdgeError::UnsupportedMediaType);
    }
    let too_large = EdgeError::BodyTooLarge {
        limit: MAX_BODY_BYTES,
    };
    if content_length.is_some_and(request::declares_too_large) {
        return Err(too_large);
    }
    let mut body = Vec::new();
    let Ok(mut stream) = Request::from(req).stream() else {
        return Ok(body); // no body at all
    };
    while let Some(chunk) = stream.next().await {
        body.extend_from_slice(&chunk?);
        if body.len() > MAX_BODY_BYTES {
            return Err(too_large);
        }
    }
    Ok(body)
}
