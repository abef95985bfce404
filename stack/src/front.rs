//! `--as <city>`: a local front that makes a browser on this machine look like a user in a
//! named city. It forwards every request to the edge (`wrangler dev`) and adds `MF-CF-Blob`,
//! the header workerd's local dev reads as `request.cf`.
//!
//! The city comes from, in order: a `?as=<city>` query parameter (which also sets the
//! `roam_as` cookie, and is removed before forwarding), the `roam_as` cookie, the front's
//! default. Responses carry `x-roam-as` (the city used) and `x-roam-as-choices` (every city
//! the front knows) so the web UI can offer a selector only when it runs behind a front.

pub mod places;

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Router;
use roam_shared::{Problem, RegionMap};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use places::{cf_blob, find_place, places, Place};

/// The header workerd's local dev turns into `request.cf`.
pub const CF_BLOB: &str = "mf-cf-blob";
/// The header Cloudflare sets to the client's address: the key of the edge's per-address
/// limits. Local clients that stand for many users send one each (see
/// [`simulated_client_address`]); a real edge overwrites whatever a client sends.
pub const CLIENT_ADDRESS: &str = "cf-connecting-ip";

/// A client address no other simulated user of this process has (`10.x.y.z`), so that load
/// and test clients that stand for many people are counted as many people by the edge's
/// per-address limits, as they would be in production.
pub fn simulated_client_address() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed) & 0x00ff_ffff;
    format!("10.{}.{}.{}", n >> 16, (n >> 8) & 0xff, n & 0xff)
}

/// Query parameter that picks the city for one request (and sets the cookie).
pub const AS_PARAM: &str = "as";
/// Cookie that remembers the chosen city.
pub const AS_COOKIE: &str = "roam_as";
/// Response header: the city this response was fetched as.
pub const AS_HEADER: &str = "x-roam-as";
/// Response header: every city the front can be (comma-separated slugs).
pub const AS_CHOICES_HEADER: &str = "x-roam-as-choices";
/// Largest request body forwarded.
const BODY_LIMIT: usize = 1 << 20;

/// How to run a front.
#[derive(Debug, Clone)]
pub struct FrontOptions {
    /// Where to listen (port 0: any free port).
    pub listen: SocketAddr,
    /// The edge's base URL, e.g. `http://127.0.0.1:8787`.
    pub edge_url: String,
    /// The city used when a request names none.
    pub default_city: String,
}

#[derive(Clone)]
struct FrontState {
    edge_url: String,
    default: Place,
    places: Vec<Place>,
    choices: HeaderValue,
    client: reqwest::Client,
}

/// A running front; dropping it stops it.
#[derive(Debug)]
pub struct Front {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Front {
    /// Binds and starts serving; fails when the default city is unknown.
    pub async fn start(options: FrontOptions) -> Result<Front> {
        let map = RegionMap::builtin();
        let places = places(map);
        let default = find_place(map, &options.default_city).with_context(|| {
            let known: Vec<&str> = places.iter().map(|p| p.slug.as_str()).collect();
            format!(
                "--as {}: unknown city; known: {}",
                options.default_city,
                known.join(", ")
            )
        })?;
        let choices: Vec<&str> = places.iter().map(|p| p.slug.as_str()).collect();
        let state = FrontState {
            edge_url: options.edge_url.trim_end_matches('/').to_string(),
            default,
            choices: HeaderValue::from_str(&choices.join(","))?,
            places,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(60))
                .build()?,
        };
        let listener = TcpListener::bind(options.listen)
            .await
            .with_context(|| format!("front: binding {}", options.listen))?;
        let addr = listener.local_addr()?;
        let app = Router::new().fallback(forward).with_state(state);
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let server = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if let Err(e) = server.await {
                tracing::error!(error = %e, "front stopped");
            }
        });
        Ok(Front {
            addr,
            shutdown: Some(tx),
            task,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL, e.g. `http://127.0.0.1:8080`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections and waits for in-flight requests.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
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

async fn forward(State(state): State<FrontState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let (param, query) = take_as_param(parts.uri.query());
    let lookup = |slug: &str| {
        state
            .places
            .iter()
            .find(|p| p.slug == slug.to_ascii_lowercase())
    };
    let place = match (&param, cookie_city(&parts.headers)) {
        (Some(slug), _) => match lookup(slug) {
            Some(place) => place,
            None => {
                let detail = format!(
                    "?as={slug}: unknown city; known: {}",
                    state.choices.to_str().unwrap_or_default()
                );
                return problem(StatusCode::BAD_REQUEST, detail);
            }
        },
        // A stale cookie naming a city that no longer exists falls back to the default.
        (None, Some(slug)) => lookup(&slug).unwrap_or(&state.default),
        (None, None) => &state.default,
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
    let mut headers = HeaderMap::new();
    for (name, value) in &parts.headers {
        if !is_hop_by_hop(name) && name.as_str() != CF_BLOB {
            headers.append(name, value.clone());
        }
    }
    if let Some(host) = parts.headers.get(header::HOST) {
        headers.insert("x-forwarded-host", host.clone());
    }
    let accept_encoding = parts.headers.get(header::ACCEPT_ENCODING);
    let accept_encoding = accept_encoding
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if let Ok(blob) = HeaderValue::from_str(&cf_blob(place, accept_encoding)) {
        headers.insert(CF_BLOB, blob);
    }
    let upstream = state
        .client
        .request(parts.method, &url)
        .headers(headers)
        .body(body)
        .send()
        .await;
    let upstream = match upstream {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, %url, "front: edge not answering");
            let detail = format!("the edge at {} is not answering", state.edge_url);
            return problem(StatusCode::BAD_GATEWAY, detail);
        }
    };
    let status = upstream.status();
    let upstream_headers = upstream.headers().clone();
    let bytes = match upstream.bytes().await {
        Ok(b) => b,
        Err(_) => {
            let detail = "the edge's response was cut short".to_string();
            return problem(StatusCode::BAD_GATEWAY, detail);
        }
    };
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    let out = response.headers_mut();
    for (name, value) in &upstream_headers {
        if !is_hop_by_hop(name) {
            out.append(name, value.clone());
        }
    }
    if let Ok(slug) = HeaderValue::from_str(&place.slug) {
        out.insert(AS_HEADER, slug);
    }
    out.insert(AS_CHOICES_HEADER, state.choices.clone());
    if param.is_some() {
        let cookie = format!("{AS_COOKIE}={}; Path=/; SameSite=Lax", place.slug);
        if let Ok(cookie) = HeaderValue::from_str(&cookie) {
            out.append(header::SET_COOKIE, cookie);
        }
    }
    response
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
