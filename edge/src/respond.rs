//! Building the edge's responses: JSON bodies, problem+json for errors, origin replies
//! re-headed for the client, the request id and `server-timing`.

use roam_shared::headers::is_valid_token_id;
use roam_shared::problem::PROBLEM_CONTENT_TYPE;
use roam_shared::trace::Timing;
use serde::Serialize;

use crate::error::{EdgeError, Result};
use crate::forward::Reply;
use crate::response::{Body, Response};

/// Origin response headers that describe the hop, not the content: never passed on.
const HOP_HEADERS: [&str; 6] = [
    "connection",
    "content-encoding",
    "content-length",
    "keep-alive",
    "transfer-encoding",
    "server-timing",
];

/// The request id: `candidate` (the client's, or one made for it) when well-formed, else a
/// fresh UUID.
pub fn request_id(candidate: &str) -> String {
    if is_valid_token_id(candidate) {
        candidate.to_string()
    } else {
        uuid::Uuid::new_v4().to_string()
    }
}

/// A JSON response with the given status and `cache-control`.
pub fn json<T: Serialize>(status: u16, body: &T, cache_control: &str) -> Result<Response> {
    let text = serde_json::to_string(body).map_err(|e| EdgeError::Internal(e.to_string()))?;
    let mut response = Response::new(status, Body::Text(text));
    let headers = response.headers_mut();
    headers.set("content-type", "application/json")?;
    headers.set("cache-control", cache_control)?;
    Ok(response)
}

/// The problem+json response for `error`, with `retry-after` (429, 503) or `allow` (405) as
/// needed.
pub fn problem(error: &EdgeError, request_id: &str, trace_id: Option<&str>) -> Result<Response> {
    let body = error.to_problem(request_id, trace_id).to_json();
    let mut response = Response::new(error.status(), Body::Text(body));
    let headers = response.headers_mut();
    headers.set("content-type", PROBLEM_CONTENT_TYPE)?;
    headers.set("cache-control", "no-store")?;
    match error {
        EdgeError::Unavailable {
            retry_after_secs, ..
        }
        | EdgeError::TooManyRequests { retry_after_secs } => {
            headers.set("retry-after", &retry_after_secs.to_string())?;
        }
        EdgeError::MethodNotAllowed { allow, .. } => headers.set("allow", allow)?,
        _ => {}
    }
    Ok(response)
}

/// An origin's (or the cache's) reply as a client response; the caller adds the edge headers.
/// A cache entry's body is passed on unread.
pub fn reply(reply: &Reply) -> Result<Response> {
    let body = match &reply.source {
        // The handle, not `Response.clone()` (which would tee the body).
        Some(source) => Body::From(Clone::clone(source)),
        // No body at all rather than an empty one: 204 and 304 may not have one.
        None if reply.body.is_empty() => Body::Empty,
        None => Body::Bytes(reply.body.clone()),
    };
    let mut response = Response::new(reply.status, body);
    let headers = response.headers_mut();
    for (name, value) in &reply.headers {
        if HOP_HEADERS.contains(&name.as_str()) || name.starts_with("x-edge-cache-") {
            continue;
        }
        headers.append(name, value)?;
    }
    Ok(response)
}

/// The `server-timing` value: the edge's own entries, then the answering origin's (`app`,
/// `db`: their `start` counts from the origin's own start), which the page places inside the
/// attempt that got the answer.
pub fn server_timing(edge: &[Timing], origin: Option<&str>) -> String {
    let mut value = roam_shared::trace::server_timing(edge);
    if let Some(origin) = origin.map(str::trim).filter(|o| !o.is_empty()) {
        value.push_str(", ");
        value.push_str(origin);
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_timing_puts_the_origins_entries_after_the_edges() {
        let edge = [Timing::new("edge", 2.0), Timing::new("origin", 10.0)];
        assert_eq!(
            server_timing(&edge, Some("app;dur=8.0, db;dur=3.0;start=1.0")),
            "edge;dur=2.0, origin;dur=10.0, app;dur=8.0, db;dur=3.0;start=1.0"
        );
        assert_eq!(server_timing(&edge[..1], Some(" ")), "edge;dur=2.0");
    }
}
