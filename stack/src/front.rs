//! `--as <city>`: a local front that makes a browser on this machine look like a user in a
//! named city. It forwards every request to the edge (`wrangler dev`) and adds `MF-CF-Blob`,
//! the header workerd's local dev reads as `request.cf`.
//!
//! The city comes from, in order: a `?as=<city>` query parameter (which also sets the
//! `roam_as` cookie, and is removed before forwarding), the `roam_as` cookie, the front's
//! default. Responses carry `x-roam-as` (the city used) and `x-roam-as-choices` (every city
//! the front knows) so the web UI can offer a selector only when it runs behind a front.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Router;
use roam_shared::geo::{continent_of, distance_km};
use roam_shared::{Coordinates, Problem, RegionMap};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The header workerd's local dev turns into `request.cf`.
pub const CF_BLOB: &str = "mf-cf-blob";
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

/// A place the front can pretend to be, with what Cloudflare would report there.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    /// Slug used by `--as`, `?as=` and the cookie.
    pub slug: String,
    /// `cf.city`.
    pub city: String,
    /// `cf.country` (ISO 3166-1 alpha-2).
    pub country: String,
    /// `cf.continent`.
    pub continent: String,
    /// `cf.colo`: the nearest real Cloudflare PoP (IATA code).
    pub colo: &'static str,
    /// Where the user is.
    pub at: Coordinates,
}

/// Well-known cities without a region of their own: users far from every region.
const ELSEWHERE: &[(&str, &str, &str, f64, f64)] = &[
    ("tokyo", "Tokyo", "JP", 35.6762, 139.6503),
    ("sydney", "Sydney", "AU", -33.8688, 151.2093),
    ("sao-paulo", "São Paulo", "BR", -23.5505, -46.6333),
];

/// Real Cloudflare PoPs (IATA code, airport coordinates) near the map's cities and the ones
/// above; a city added to the map gets the nearest of these.
const COLOS: &[(&str, f64, f64)] = &[
    ("EWR", 40.6895, -74.1745),
    ("BOS", 42.3656, -71.0096),
    ("IAD", 38.9531, -77.4565),
    ("ATL", 33.6407, -84.4277),
    ("ORD", 41.9742, -87.9073),
    ("DFW", 32.8998, -97.0403),
    ("DEN", 39.8561, -104.6737),
    ("LAX", 33.9416, -118.4085),
    ("SJC", 37.3639, -121.9289),
    ("SEA", 47.4502, -122.3088),
    ("YYZ", 43.6777, -79.6248),
    ("AMS", 52.3105, 4.7683),
    ("CDG", 49.0097, 2.5479),
    ("LHR", 51.4700, -0.4543),
    ("FRA", 50.0379, 8.5622),
    ("MAD", 40.4983, -3.5676),
    ("MXP", 45.6301, 8.7231),
    ("FCO", 41.8003, 12.2389),
    ("NRT", 35.7720, 140.3929),
    ("SIN", 1.3644, 103.9915),
    ("SYD", -33.9399, 151.1753),
    ("GRU", -23.4356, -46.4731),
];

/// The Cloudflare PoP nearest a point.
pub fn nearest_colo(at: Coordinates) -> &'static str {
    COLOS
        .iter()
        .min_by(|a, b| {
            let da = distance_km(at, Coordinates::new(a.1, a.2));
            let db = distance_km(at, Coordinates::new(b.1, b.2));
            da.total_cmp(&db)
        })
        .map_or("EWR", |c| c.0)
}

fn place(slug: &str, city: &str, country: &str, lat: f64, lon: f64) -> Place {
    let at = Coordinates::new(lat, lon);
    Place {
        slug: slug.to_string(),
        city: city.to_string(),
        country: country.to_string(),
        continent: continent_of(country).unwrap_or("NA").to_string(),
        colo: nearest_colo(at),
        at,
    }
}

/// Every place the front can be: each city of the map, then tokyo, sydney, sao-paulo.
pub fn places(map: &RegionMap) -> Vec<Place> {
    let mapped = map
        .cities
        .iter()
        .map(|c| place(&c.slug, &c.name, &c.country, c.lat, c.lon));
    let elsewhere = ELSEWHERE
        .iter()
        .filter(|e| map.city(e.0).is_none())
        .map(|&(slug, city, country, lat, lon)| place(slug, city, country, lat, lon));
    mapped.chain(elsewhere).collect()
}

/// The place with this slug (case-insensitive).
pub fn find_place(map: &RegionMap, slug: &str) -> Option<Place> {
    places(map)
        .into_iter()
        .find(|p| p.slug.eq_ignore_ascii_case(slug.trim()))
}

/// The `MF-CF-Blob` value for a place: JSON as `request.cf` has it (coordinates as strings),
/// with non-ASCII escaped so it is a valid header value ("São Paulo").
pub fn cf_blob(place: &Place) -> String {
    let json = serde_json::json!({
        "country": place.country,
        "city": place.city,
        "colo": place.colo,
        "continent": place.continent,
        "latitude": format!("{:.4}", place.at.lat),
        "longitude": format!("{:.4}", place.at.lon),
    })
    .to_string();
    let mut ascii = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_ascii() {
            ascii.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                ascii.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    ascii
}

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
    if let Ok(blob) = HeaderValue::from_str(&cf_blob(place)) {
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

    fn blob_of(slug: &str) -> serde_json::Value {
        let place = find_place(RegionMap::builtin(), slug).expect(slug);
        let blob = cf_blob(&place);
        assert!(blob.is_ascii(), "{blob}");
        assert!(HeaderValue::from_str(&blob).is_ok());
        serde_json::from_str(&blob).expect("blob is JSON")
    }

    #[test]
    fn rome_is_italy_at_fiumicino() {
        let v = blob_of("rome");
        assert_eq!(v["country"], "IT");
        assert_eq!(v["city"], "Rome");
        assert_eq!(v["colo"], "FCO");
        assert_eq!(v["continent"], "EU");
        assert_eq!(v["latitude"], "41.9028");
        assert_eq!(v["longitude"], "12.4964");
    }

    #[test]
    fn every_city_of_the_map_and_three_without_a_region() {
        let map = RegionMap::builtin();
        let slugs: Vec<String> = places(map).into_iter().map(|p| p.slug).collect();
        for city in &map.cities {
            assert!(slugs.contains(&city.slug), "{}", city.slug);
        }
        for extra in ["tokyo", "sydney", "sao-paulo"] {
            assert!(slugs.contains(&extra.to_string()), "{extra}");
        }
        let colo = |slug| blob_of(slug)["colo"].as_str().map(String::from);
        let expected = [
            ("new-york", "EWR"),
            ("boston", "BOS"),
            ("washington-dc", "IAD"),
            ("los-angeles", "LAX"),
            ("san-francisco", "SJC"),
            ("seattle", "SEA"),
            ("amsterdam", "AMS"),
            ("paris", "CDG"),
            ("tokyo", "NRT"),
            ("sydney", "SYD"),
        ];
        for (slug, iata) in expected {
            assert_eq!(colo(slug).as_deref(), Some(iata), "{slug}");
        }
    }

    #[test]
    fn non_ascii_names_survive_as_escapes() {
        let v = blob_of("sao-paulo");
        assert_eq!(v["city"], "São Paulo");
        assert_eq!(
            (v["country"].as_str(), v["continent"].as_str()),
            (Some("BR"), Some("SA"))
        );
        assert_eq!(blob_of("sydney")["continent"], "OC");
        assert_eq!(blob_of("tokyo")["continent"], "AS");
    }

    #[test]
    fn lookups_ignore_case_and_refuse_unknown_cities() {
        let map = RegionMap::builtin();
        assert_eq!(
            find_place(map, " Rome ").map(|p| p.slug),
            Some("rome".into())
        );
        assert!(find_place(map, "atlantis").is_none());
    }

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
