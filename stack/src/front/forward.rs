//! What a front does with each request: picks the city, forwards the request to the edge as a
//! user there, and labels the answer with the city and the choices.

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use roam_shared::headers::IDEMPOTENCY_KEY;
use roam_shared::Problem;

use super::places::{cf_blob, Place};
use super::{AS_CHOICES_HEADER, AS_COOKIE, AS_HEADER, AS_PARAM, CF_BLOB};

/// Largest request body forwarded.
const BODY_LIMIT: usize = 1 << 20;

/// What every request of a front shares.
#[derive(Clone)]
pub(super) struct FrontState {
    pub(super) edge_url: String,
    pub(super) default: Place,
    pub(super) places: Vec<Place>,
    pub(super) choices: HeaderValue,
    pub(super) client: reqwest::Client,
}

/// Forwards a request to the edge as a user in the chosen city, and labels the answer.
pub(super) async fn forward(State(state): State<FrontState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let (param, query) = take_as_param(parts.uri.query());
    let place = match choose_place(&state, param.as_deref(), &parts.headers) {
        Ok(place) => place,
        Err(unknown) => return problem(StatusCode::BAD_REQUEST, unknown),
    };
    let body = match to_bytes(body, BODY_LIMIT).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large".into(),
            )
        }
    };
    let mut url = format!("{}{}", state.edge_url, parts.uri.path());
    if let Some(query) = query {
        url.push('?');
        url.push_str(&query);
    }
    let headers = edge_headers(&parts.headers, place);
    let upstream = send_to_edge(&state.client, parts.method, &url, headers, body).await;
    let upstream = match upstream {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, %url, "front: edge not answering");
            let detail = format!("the edge at {} is not answering", state.edge_url);
            return problem(StatusCode::BAD_GATEWAY, detail);
        }
    };
    let mut response = match client_response(upstream).await {
        Ok(response) => response,
        Err(cut_short) => return problem(StatusCode::BAD_GATEWAY, cut_short),
    };
    label(response.headers_mut(), place, &state, param.is_some());
    response
}

/// Sends a request on to the edge. A transport error (no answer at all, e.g. a pooled
/// connection the edge closed as it was reused) is tried once more when sending twice is
/// harmless: a read, or a write with an idempotency key (its repeat is a replay).
async fn send_to_edge(
    client: &reqwest::Client,
    method: Method,
    url: &str,
    headers: HeaderMap,
    body: Bytes,
) -> reqwest::Result<reqwest::Response> {
    let resendable = method.is_safe() || headers.contains_key(IDEMPOTENCY_KEY);
    let send = || {
        client
            .request(method.clone(), url)
            .headers(headers.clone())
            .body(body.clone())
            .send()
    };
    match send().await {
        Err(e) if resendable && !e.is_timeout() => {
            tracing::debug!(error = %e, url, "front: sending again after a transport error");
            send().await
        }
        answered => answered,
    }
}

/// The city of a request: its `?as=` (an unknown one is refused, with this message), else its
/// cookie's, else the default.
fn choose_place<'a>(
    state: &'a FrontState,
    param: Option<&str>,
    headers: &HeaderMap,
) -> Result<&'a Place, String> {
    let lookup = |slug: &str| {
        state
            .places
            .iter()
            .find(|p| p.slug == slug.to_ascii_lowercase())
    };
    match (param, cookie_city(headers)) {
        (Some(slug), _) => lookup(slug).ok_or_else(|| {
            format!(
                "?as={slug}: unknown city; known: {}",
                state.choices.to_str().unwrap_or_default()
            )
        }),
        // A stale cookie naming a city that no longer exists falls back to the default.
        (None, Some(slug)) => Ok(lookup(&slug).unwrap_or(&state.default)),
        (None, None) => Ok(&state.default),
    }
}

/// The client's headers for the edge, without the hop-by-hop ones and any client-sent
/// `MF-CF-Blob`, plus `x-forwarded-host` and the blob of `place`.
fn edge_headers(client: &HeaderMap, place: &Place) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in client {
        if !is_hop_by_hop(name) && name.as_str() != CF_BLOB {
            headers.append(name, value.clone());
        }
    }
    if let Some(host) = client.get(header::HOST) {
        headers.insert("x-forwarded-host", host.clone());
    }
    let accept_encoding = client.get(header::ACCEPT_ENCODING);
    let accept_encoding = accept_encoding
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if let Ok(blob) = HeaderValue::from_str(&cf_blob(place, accept_encoding)) {
        headers.insert(CF_BLOB, blob);
    }
    headers
}

/// The edge's answer for the client: its status, body and end-to-end headers (or why not).
async fn client_response(upstream: reqwest::Response) -> Result<Response, String> {
    let status = upstream.status();
    let upstream_headers = upstream.headers().clone();
    let bytes = match upstream.bytes().await {
        Ok(b) => b,
        Err(_) => return Err("the edge's response was cut short".to_string()),
    };
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    let out = response.headers_mut();
    for (name, value) in &upstream_headers {
        if !is_hop_by_hop(name) {
            out.append(name, value.clone());
        }
    }
    Ok(response)
}

/// `x-roam-as`, `x-roam-as-choices` and, when `?as=` chose the city, the cookie keeping it.
fn label(out: &mut HeaderMap, place: &Place, state: &FrontState, chosen_by_param: bool) {
    if let Ok(slug) = HeaderValue::from_str(&place.slug) {
        out.insert(AS_HEADER, slug);
    }
    out.insert(AS_CHOICES_HEADER, state.choices.clone());
    if chosen_by_param {
        let cookie = format!("{AS_COOKIE}={}; Path=/; SameSite=Lax", place.slug);
        if let Ok(cookie) = HeaderValue::from_str(&cookie) {
            out.append(header::SET_COOKIE, cookie);
        }
    }
}

/// Headers that belong to one connection, not to the request or response.
fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "transfer-encoding"
            | "te"
            | "trailer"
            | "upgrade"
            | "host"
            | "content-length"
    )
}

fn problem(status: StatusCode, detail: String) -> Response {
    let body = Problem::new(status.as_u16(), detail).to_json();
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(roam_shared::problem::PROBLEM_CONTENT_TYPE),
    );
    response
}

fn cookie_city(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == AS_COOKIE).then(|| value.to_string())
        })
}

/// Splits `?as=` out of a query: (the chosen slug, the query to forward).
fn take_as_param(query: Option<&str>) -> (Option<String>, Option<String>) {
    let Some(query) = query else {
        return (None, None);
    };
    let mut chosen = None;
    let rest: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.split_once('=') {
            Some((AS_PARAM, value)) => {
                chosen = Some(value.to_string());
                false
            }
            _ => true,
        })
        .collect();
    let rest = (!rest.is_empty()).then(|| rest.join("&"));
    (chosen, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_as_parameter_is_taken_out_of_the_query() {
        assert_eq!(take_as_param(None), (None, None));
        assert_eq!(
            take_as_param(Some("as=tokyo")),
            (Some("tokyo".into()), None)
        );
        assert_eq!(
            take_as_param(Some("status=available&as=paris&x=1")),
            (Some("paris".into()), Some("status=available&x=1".into()))
        );
        assert_eq!(
            take_as_param(Some("class=a")),
            (None, Some("class=a".into()))
        );
    }
}
