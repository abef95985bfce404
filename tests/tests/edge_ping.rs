//! (Long because it is nine small checks of one edge without origins, read side by side.)
//!
//! The edge alone under `wrangler dev` (real workerd), no origins: `/ping` as users in several
//! places, missing `request.cf` fields, and the edge's own error answers.
//!
//! One edge serves every test of this file (started once, stopped when the last test ends or
//! by its reaper when the test binary exits).

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Client, Method, RequestBuilder, StatusCode};
use roam_e2e::client::header_text;
use roam_e2e::place;
use roam_e2e::world::start_edge_with;
use roam_stack::edge::{EdgeOptions, EdgeProcess};
use serde_json::{json, Value};
use tokio::sync::OnceCell;

/// `request.cf` of a user in Rome.
const ROME: &str = place::ROME.blob;
/// `request.cf` of a user in Los Angeles.
const LOS_ANGELES: &str = place::LOS_ANGELES.blob;

/// The shared edge. Statics are never dropped, so its reaper stops it when the binary exits.
async fn edge() -> &'static EdgeProcess {
    static EDGE: OnceCell<EdgeProcess> = OnceCell::const_new();
    EDGE.get_or_init(|| {
        start_edge_with(EdgeOptions::without_origins("ping").expect("edge options"))
    })
    .await
}

async fn get(path: &str, cf_blob: Option<&str>) -> (StatusCode, HeaderMap, Value) {
    let edge = edge().await;
    let mut request = to_edge(Method::GET, edge, path);
    if let Some(blob) = cf_blob {
        request = request.header("mf-cf-blob", blob);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}\n{}", edge.log_tail(20)));
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("a response body");
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text}\n{}", edge.log_tail(20)));
    (status, headers, body)
}

/// A request for `path` to `edge`, asking for an uncompressed answer (so it reads as sent),
/// given up after 20 s. A client of its own: these tests look at answers, not at connection
/// reuse.
fn to_edge(method: Method, edge: &EdgeProcess, path: &str) -> RequestBuilder {
    let client = Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("an HTTP client");
    let url = format!("{}{path}", edge.url());
    client
        .request(method, url)
        .header("accept-encoding", "identity")
}

/// `/ping` as a user whose `request.cf` is `blob`: 200 with `pong` as the body, never cached,
/// with a request id.
async fn assert_pong(blob: &str, pong: Value) {
    let (status, headers, body) = get("/ping", Some(blob)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, pong);
    assert_eq!(header_text(&headers, "cache-control"), "no-store");
    assert!(
        !header_text(&headers, "x-request-id").is_empty(),
        "{headers:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_in_rome_is_near_eu_west() {
    let pong = json!({"pong":true,"country":"IT","city":"Rome","colo":"FCO","region":"eu-west",
                      "latitude":41.89,"longitude":12.49});
    assert_pong(ROME, pong).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_in_los_angeles_is_near_us_west() {
    let pong = json!({"pong":true,"country":"US","city":"Los Angeles","colo":"LAX",
                      "region":"us-west","latitude":34.05,"longitude":-118.24});
    assert_pong(LOS_ANGELES, pong).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_or_odd_cf_fields_do_not_panic() {
    // No coordinates: the country decides; nothing at all: the map's default region.
    let (status, _, body) = get("/ping", Some(r#"{"country":"FR"}"#)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["region"], "eu-west");
    assert_eq!(body["city"], "");
    let (status, _, body) = get("/ping", Some("{}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["region"], "us-east");
    let odd = r#"{"country":7,"city":null,"latitude":"north","longitude":[],"colo":{"x":1}}"#;
    let (status, _, body) = get("/ping", Some(odd)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["pong"], true);
    assert!(
        body.get("latitude").is_none(),
        "no point from odd text: {body}"
    );
    // A point off the globe is no point: the page's map leaves the user off.
    let (_, _, body) = get("/ping", Some(r#"{"latitude":"91","longitude":"12"}"#)).await;
    assert!(
        body.get("latitude").is_none() && body.get("longitude").is_none(),
        "{body}"
    );
    // The edge keeps answering afterwards (no poisoned instance).
    let (status, _, _) = get("/ping", Some(ROME)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_well_formed_request_id_is_kept_and_a_bad_one_replaced() {
    let edge = edge().await;
    let send = |id: &'static str| {
        to_edge(Method::GET, edge, "/ping")
            .header("x-request-id", id)
            .send()
    };
    let kept = send("trace-42.a_b:c").await.unwrap();
    assert_eq!(
        header_text(kept.headers(), "x-request-id"),
        "trace-42.a_b:c"
    );
    let replaced = send("no spaces allowed").await.unwrap();
    let id = header_text(replaced.headers(), "x-request-id");
    assert!(!id.is_empty() && id != "no spaces allowed", "{id}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_edges_own_routes_and_errors() {
    let (status, headers, body) = get("/api/v1/cities", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(header_text(&headers, "cache-control").contains("max-age"));
    let rome = body["cities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["slug"] == "rome")
        .unwrap();
    assert_eq!(rome["region"], "eu-west");

    let (status, _, body) = get("/api/v1/regions", Some(ROME)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["nearest"], "eu-west");
    assert_eq!(body["regions"].as_array().unwrap().len(), 3);

    let (status, headers, body) = get("/nope", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        header_text(&headers, "content-type"),
        "application/problem+json"
    );
    assert_eq!(body["status"], 404);
    assert!(!header_text(&headers, "x-request-id").is_empty());

    let (status, _, body) = get("/api/v1/cities/tokyo/vehicles", Some(ROME)).await;
    assert_eq!(
        (status, body["status"].clone()),
        (StatusCode::NOT_FOUND, json!(404))
    );

    let edge = edge().await;
    let put = to_edge(Method::PUT, edge, "/ping").send().await.unwrap();
    assert_eq!(put.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header_text(put.headers(), "allow"), "GET");

    // Writes the edge refuses itself: (what, content type, idempotency key, body, status).
    let json = "application/json";
    let huge = vec![b' '; 64 * 1024 + 1];
    for (what, content_type, key, body, refused) in [
        ("not JSON", "text/plain", None, &b"hello"[..], 415),
        ("too large", json, None, &huge[..], 413),
        ("bad key", json, Some("not a valid key"), &b"{}"[..], 422),
    ] {
        let mut write = to_edge(Method::POST, edge, "/api/v1/cities/rome/vehicles")
            .header("content-type", content_type)
            .body(body.to_vec());
        if let Some(key) = key {
            write = write.header("idempotency-key", key);
        }
        let answer = write.send().await.unwrap();
        assert_eq!(answer.status().as_u16(), refused, "{what}");
        let problem: Value = answer.json().await.unwrap();
        assert_eq!(problem["status"], refused, "{what}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn with_every_origin_down_a_read_is_a_503_with_retry_after() {
    let (status, headers, body) = get("/api/v1/cities/rome/vehicles", Some(ROME)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        header_text(&headers, "retry-after").parse::<u32>().is_ok(),
        "{headers:?}"
    );
    assert_eq!(body["status"], 503);
    let (_, _, body) = get("/ping/eu-west", Some(ROME)).await;
    assert_eq!(body["region"], "eu-west");
    assert_eq!(body["status"], "error");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_origin_times_out_into_a_504_and_a_timeout_ping() {
    // A black hole: accepts connections, never answers.
    let hole = std::net::TcpListener::bind("127.0.0.1:0").expect("a listener");
    let port = hole.local_addr().expect("an address").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in hole.incoming().flatten() {
            held.push(stream);
        }
    });
    let mut options = EdgeOptions::without_origins("timeouts").expect("edge options");
    options
        .origins
        .insert("eu-west".into(), format!("http://127.0.0.1:{port}"));
    options
        .vars
        .push(("ORIGIN_TIMEOUT_MS".into(), "300".into()));
    let mut edge = start_edge_with(options).await;
    let get = |path: &str| {
        to_edge(Method::GET, &edge, path)
            .header("mf-cf-blob", ROME)
            .send()
    };
    let started = std::time::Instant::now();
    let read = get("/api/v1/cities/rome/vehicles")
        .await
        .expect("an answer");
    let status = read.status();
    if status != StatusCode::GATEWAY_TIMEOUT {
        let body = read.text().await.unwrap_or_default();
        panic!(
            "expected 504, got {status}: {body}\nedge log:\n{}",
            edge.log_tail(40)
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let problem: Value = read.json().await.expect("problem+json");
    assert_eq!(problem["status"], 504);
    let ping: Value = get("/ping/eu-west")
        .await
        .expect("an answer")
        .json()
        .await
        .expect("json");
    assert_eq!(ping["status"], "timeout");
    assert!(ping["origin_ms"].as_f64().unwrap_or(0.0) >= 250.0, "{ping}");
    edge.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn static_assets_are_served_and_never_shadow_the_api() {
    let edge = edge().await;
    let page = to_edge(Method::GET, edge, "/").send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(header_text(page.headers(), "content-type").starts_with("text/html"));
    let (status, _, body) = get("/api/v1/regions", Some(ROME)).await;
    assert_eq!(
        (status, body["nearest"].clone()),
        (StatusCode::OK, json!("eu-west"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panic_is_answered_with_problem_json_and_the_edge_recovers() {
    let mut options = EdgeOptions::without_origins("panic").expect("edge options");
    options.vars.push(("EDGE_TEST_PANIC".into(), "1".into()));
    let mut edge = start_edge_with(options).await;
    let panicked = to_edge(Method::GET, &edge, "/__test/panic")
        .header("x-request-id", "boom-1")
        .send()
        .await
        .expect("an answer");
    assert_eq!(panicked.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        header_text(panicked.headers(), "content-type"),
        "application/problem+json"
    );
    assert_eq!(header_text(panicked.headers(), "x-request-id"), "boom-1");
    let problem: Value = panicked.json().await.expect("problem+json");
    assert_eq!(
        (problem["status"].clone(), problem["request_id"].clone()),
        (json!(500), json!("boom-1"))
    );
    assert!(
        !problem["detail"]
            .as_str()
            .unwrap_or("")
            .contains("deliberate"),
        "no internals leak"
    );
    // A fresh instance answers the next request.
    let pong = to_edge(Method::GET, &edge, "/ping")
        .send()
        .await
        .expect("an answer");
    assert_eq!(pong.status(), StatusCode::OK);
    // The hook logged it (wrangler writes workerd's output to the log a little later).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !edge.log_tail(400).contains("deliberate panic") {
        assert!(
            std::time::Instant::now() < deadline,
            "the panic is not logged:\n{}",
            edge.log_tail(60)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    edge.stop();
    // Without the switch the route does not exist.
    let (status, _, _) = get("/__test/panic", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
