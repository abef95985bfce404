//! Forwarding one request to one origin: which client headers pass, the geo tags, request id,
//! idempotency key and `traceparent` the edge adds, the signature over all of it, and the call
//! itself with its timeout.
//!
//! Client headers pass through an allow-list, so any `x-roam-*` header a client sent is gone
//! before the edge signs: only the edge's own tags are ever signed.

use std::time::Duration;

use futures::future::{select, Either};
use roam_shared::headers::{GeoTags, IDEMPOTENCY_KEY, KEY_ID, REQUEST_ID, SIGNATURE, TIMESTAMP};
use roam_shared::signature::{body_digest, is_signed_header, sign, SignedParts};
use roam_shared::trace::TRACEPARENT;
use roam_shared::SharedSecret;
use worker::{AbortController, Delay, Fetch, Headers, Method, Request, RequestInit};

/// Client headers an origin may see (lowercase). Everything else is dropped.
const PASSED_CLIENT_HEADERS: [&str; 6] = [
    "accept",
    "accept-language",
    "authorization",
    "content-type",
    "cookie",
    "user-agent",
];

/// A request as the edge sends it to an origin. Kept as plain data so it can be sent again to
/// another origin (a fetch body is single-use) and signed afresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound {
    /// `GET`, `POST`, …
    pub method: String,
    /// Path and query exactly as forwarded (and signed).
    pub path_and_query: String,
    /// Headers other than the timestamp and signature, names lowercase.
    pub headers: Vec<(String, String)>,
    /// The request body.
    pub body: Vec<u8>,
}

impl Outbound {
    /// Builds the outbound request: allowed client headers, the geo tags, the request id and,
    /// for writes, the idempotency key.
    pub fn new(
        method: &str,
        path_and_query: &str,
        client_headers: &[(String, String)],
        body: Vec<u8>,
        tags: &GeoTags,
        request_id: &str,
        idempotency_key: Option<&str>,
    ) -> Self {
        let mut headers: Vec<(String, String)> = client_headers
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
            .filter(|(n, _)| PASSED_CLIENT_HEADERS.contains(&n.as_str()))
            .collect();
        headers.extend(tags.to_headers().map(|(n, v)| (n.to_string(), v)));
        headers.push((REQUEST_ID.to_string(), request_id.to_string()));
        if let Some(key) = idempotency_key {
            headers.push((IDEMPOTENCY_KEY.to_string(), key.to_string()));
        }
        Self {
            method: method.to_ascii_uppercase(),
            path_and_query: path_and_query.to_string(),
            headers,
            body,
        }
    }

    /// Every header to send, with this attempt's `traceparent` (each attempt is a span of its
    /// own), and `x-roam-key-id`, `x-roam-timestamp` and `x-roam-signature` computed at `now`
    /// under `secret`.
    pub fn signed_headers(
        &self,
        secret: &SharedSecret,
        now_secs: i64,
        traceparent: Option<&str>,
    ) -> Vec<(String, String)> {
        let mut headers: Vec<(String, String)> = self
            .headers
            .iter()
            .filter(|(n, _)| n != TRACEPARENT)
            .cloned()
            .collect();
        if let Some(tp) = traceparent {
            headers.push((TRACEPARENT.to_string(), tp.to_string()));
        }
        headers.push((KEY_ID.to_string(), secret.id().to_string()));
        let signed: Vec<(String, String)> = headers
            .iter()
            .filter(|(n, _)| is_signed_header(n))
            .cloned()
            .collect();
        let parts = SignedParts {
            method: &self.method,
            path_and_query: &self.path_and_query,
            timestamp: now_secs,
            body_sha256: body_digest(&self.body),
            headers: signed,
        };
        headers.push((TIMESTAMP.to_string(), now_secs.to_string()));
        headers.push((SIGNATURE.to_string(), sign(secret, &parts)));
        headers
    }
}

/// An origin's answer, read in full (bodies are small JSON; the edge caches and re-heads them),
/// or a cache entry's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Response headers, names lowercase.
    pub headers: Vec<(String, String)>,
    /// The body (empty when it is still in `source`).
    pub body: Vec<u8>,
    /// A cache entry's own response, whose body is sent on without being read into Wasm (a
    /// body is read once: clones share it, so only one may be sent).
    pub source: Option<worker::worker_sys::web_sys::Response>,
}

impl Reply {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why a call did not reach an origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// No complete answer within the timeout.
    Timeout,
    /// Connection refused, reset, DNS failure, …
    Unreachable(String),
}

/// Sends `out` to the origin at `base_url` with `traceparent`, signed now, and reads the whole
/// answer within `timeout_ms`; on timeout the fetch is aborted.
pub async fn call(
    base_url: &str,
    out: &Outbound,
    secret: &SharedSecret,
    timeout_ms: u32,
    traceparent: Option<&str>,
) -> Result<Reply, CallError> {
    let now_secs = (js_sys::Date::now() / 1000.0) as i64;
    let request = build_request(base_url, out, secret, now_secs, traceparent)
        .map_err(|e| CallError::Unreachable(format!("cannot build the request: {e}")))?;
    let controller = AbortController::default();
    let signal = controller.signal();
    let exchange = async {
        let mut response = Fetch::Request(request).send_with_signal(&signal).await?;
        let body = response.bytes().await?;
        let headers = response
            .headers()
            .entries()
            .map(|(n, v)| (n.to_ascii_lowercase(), v))
            .collect();
        Ok::<_, worker::Error>(Reply {
            status: response.status_code(),
            headers,
            body,
            source: None,
        })
    };
    let deadline = Delay::from(Duration::from_millis(u64::from(timeout_ms)));
    futures::pin_mut!(exchange);
    match select(exchange, deadline).await {
        Either::Left((Ok(reply), _)) => Ok(reply),
        Either::Left((Err(e), _)) => Err(CallError::Unreachable(e.to_string())),
        Either::Right(((), _)) => {
            controller.abort();
            Err(CallError::Timeout)
        }
    }
}

fn build_request(
    base_url: &str,
    out: &Outbound,
    secret: &SharedSecret,
    now_secs: i64,
    traceparent: Option<&str>,
) -> worker::Result<Request> {
    let headers = Headers::new();
    for (name, value) in out.signed_headers(secret, now_secs, traceparent) {
        headers.set(&name, &value)?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::from(out.method.clone()))
        .with_headers(headers);
    if !out.body.is_empty() {
        init.with_body(Some(js_sys::Uint8Array::from(out.body.as_slice()).into()));
    }
    Request::new_with_init(&format!("{base_url}{}", out.path_and_query), &init)
}

#[cfg(test)]
mod tests;
