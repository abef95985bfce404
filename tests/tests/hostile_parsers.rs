//! Property-based fuzzing of what reads untrusted bytes, beyond the targets `roam-shared`
//! carries in its own modules (tokens, bookmarks, signatures, header values, routing, geo,
//! validation):
//!
//! - the edge's request parsers: route resolution, URL splitting, cookies, `request.cf`
//!   fields, cache keys and freshness, and the outbound request it signs (no client header
//!   ever lands in the signed set);
//! - the origin's JSON body parser (syntax errors are 400, every well-formed body of the wrong
//!   shape is 422, nothing panics);
//! - the origin's whole router, driven in-process with arbitrary methods, paths, headers and
//!   bodies, signed and unsigned (its database unreachable, so only parsing and refusals run):
//!   no 500, every error problem+json, unsigned `/api/` requests never get past 401/413;
//! - the signature canonicaliser and the token decoder against arbitrary input.
//!
//! Cases per property: `PROPTEST_CASES` (default 256). A longer run for
//! maintainers: `PROPTEST_CASES=20000 cargo test --release -p roam-e2e --test hostile_parsers`.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use proptest::prelude::*;
use roam_edge::cache::{judge, key_for, Verdict, Windows};
use roam_edge::cf::Geo;
use roam_edge::forward::Outbound;
use roam_edge::route::{path_and_query, resolve, DataRoute, Route};
use roam_origin::http::parse_json;
use roam_shared::api::{LogIn, NewVehicle, SignUp, StartRide};
use roam_shared::headers::{is_valid_token_id, GeoTags};
use roam_shared::request::cookie;
use roam_shared::signature::{self, is_signed_header, SharedSecret, SignedParts, DEV_SECRET};
use roam_shared::{token, RegionMap};
use tower::ServiceExt;

fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Path segments an attacker would try, mixed with real ones.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("api".to_string()),
        Just("v1".to_string()),
        Just("cities".to_string()),
        Just("rome".to_string()),
        Just("vehicles".to_string()),
        Just("rides".to_string()),
        Just("end".to_string()),
        Just("me".to_string()),
        Just("..".to_string()),
        Just("%2e%2e".to_string()),
        Just("%2F".to_string()),
        Just("%00".to_string()),
        Just(String::new()),
        Just("6a0f8c2e-1b1e-4f7b-9d55-0c1d2e3f4a5b".to_string()),
        "[A-Za-z0-9%._~-]{1,12}",
        "\\PC{1,6}".prop_map(|s| s.bytes().map(|b| format!("%{b:02X}")).collect()),
    ]
}

fn path() -> impl Strategy<Value = String> {
    prop::collection::vec(segment(), 0..8).prop_map(|s| format!("/{}", s.join("/")))
}

fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("GET".to_string()),
        Just("POST".to_string()),
        Just("DELETE".to_string()),
        Just("PUT".to_string()),
        Just("PATCH".to_string()),
        Just("HEAD".to_string()),
        Just("OPTIONS".to_string()),
        "[A-Z]{1,10}",
    ]
}

/// JSON values of any shape, up to a small depth.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        "\\PC{0,20}".prop_map(serde_json::Value::from),
        Just(serde_json::Value::from(
            "6a0f8c2e-1b1e-4f7b-9d55-0c1d2e3f4a5b"
        )),
        Just(serde_json::Value::from("bike")),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("type".to_string()),
                    Just("last_location".to_string()),
                    Just("vehicle_id".to_string()),
                    Just("email".to_string()),
                    Just("password".to_string()),
                    Just("name".to_string()),
                    Just("city".to_string()),
                    Just("location".to_string()),
                    "[a-z_]{1,8}",
                ],
                inner,
                0..5
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn status_of<T>(r: roam_origin::Result<T>) -> u16 {
    r.map(|_| 200).unwrap_or_else(|e| e.status().as_u16())
}

fn json_statuses(bytes: &[u8]) -> [u16; 4] {
    [
        status_of(parse_json::<NewVehicle>(bytes)),
        status_of(parse_json::<StartRide>(bytes)),
        status_of(parse_json::<SignUp>(bytes)),
        status_of(parse_json::<LogIn>(bytes)),
    ]
}

proptest! {
    #![proptest_config(cases(256))]

    /// Every method and path resolves to a route or to a 404/405, without panicking; a vehicle
    /// id that reaches the cache key is a canonical UUID; data routes live under `/api/v1/`.
    #[test]
    fn edge_route_resolution_is_total(method in method(), path in path()) {
        match resolve(&method, &path) {
            Ok(Route::Data(route)) => {
                prop_assert!(path.starts_with("/api/v1/"), "{path}");
                if let Some(id) = &route.vehicle {
                    prop_assert_eq!(uuid::Uuid::parse_str(id).map(|u| u.hyphenated().to_string()).ok(), Some(id.clone()));
                }
            }
            Ok(_) => {}
            Err(e) => prop_assert!(matches!(e.status(), 404 | 405), "{method} {path}: {e}"),
        }
    }

    /// URL splitting never panics and gives back a path that starts with `/`.
    #[test]
    fn edge_url_splitting_is_total(url in "\\PC{0,80}") {
        let (path, query) = path_and_query(&url);
        prop_assert!(path.starts_with('/'), "{url} → {path}");
        prop_assert!(query.is_none_or(|q| !q.contains('#')));
    }

    /// A cookie header of any shape is read without panicking, and a value never spans pairs.
    #[test]
    fn edge_cookie_parsing_is_total(header in "\\PC{0,120}", name in "[a-z_]{1,12}") {
        if let Some(value) = cookie(&header, &name) {
            prop_assert!(!value.contains(';'));
        }
    }

    /// Whatever `request.cf` says (it is client-controlled in local dev, and free text from
    /// the network in production), the tags the edge forwards are header-safe and decode back.
    #[test]
    fn edge_geo_tags_are_always_header_safe(fields in prop::collection::vec(proptest::option::of("\\PC{0,40}"), 6)) {
        let names = ["country", "city", "colo", "continent", "latitude", "longitude"];
        let geo = Geo::from_lookup(|name| names.iter().position(|n| *n == name).and_then(|i| fields[i].clone()));
        let tags = geo.tags(RegionMap::builtin());
        for (name, value) in tags.to_headers() {
            prop_assert!(value.bytes().all(|b| (0x20..0x7f).contains(&b)), "{name}: {value:?}");
        }
        let sent = tags.to_headers();
        let back = GeoTags::from_headers(|name| sent.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str()));
        prop_assert_eq!(back, tags);
    }

    /// No client header, however named or cased, gets into the signed set: the signed
    /// headers are exactly the edge's geo tags, its idempotency key and its key's id.
    #[test]
    fn edge_never_signs_a_client_header(
        headers in prop::collection::vec((prop_oneof![
            "x-roam-[a-z-]{0,12}", "X-ROAM-[A-Z]{0,8}", "idempotency-key", "Idempotency-Key",
            "authorization", "content-type", "[a-zA-Z-]{1,16}"
        ], "[ -~]{0,30}"), 0..12),
        key in "[A-Za-z0-9._:-]{1,40}",
    ) {
        let tags = GeoTags {
            country: "IT".into(), city: "Rome".into(), colo: "FCO".into(),
            region: "eu-west".into(), lat: "41.9".into(), lon: "12.5".into(),
        };
        let out = Outbound::new("POST", "/api/v1/cities/rome/rides", &headers, b"{}".to_vec(), &tags, "req-1", Some(&key));
        let secret = SharedSecret::parse(DEV_SECRET).expect("the dev secret");
        let sent = out.signed_headers(&secret, 1_700_000_000, None);
        let mut expected: Vec<(String, String)> = tags.to_headers().iter().map(|(n, v)| (n.to_string(), v.clone())).collect();
        expected.push(("idempotency-key".into(), key));
        expected.push(("x-roam-key-id".into(), secret.id().to_string()));
        expected.sort();
        let mut signed: Vec<(String, String)> = sent.iter().filter(|(n, _)| is_signed_header(n)).cloned().collect();
        signed.sort();
        prop_assert_eq!(signed, expected);
    }

    /// Cache keys are built from known parts only: junk in the query cannot make new keys.
    #[test]
    fn edge_cache_keys_ignore_junk(query in proptest::option::of("\\PC{0,60}")) {
        let route = DataRoute::of("GET", "/api/v1/cities/rome/vehicles").expect("the list route");
        if let Some((key, forwarded)) = key_for(&route, query.as_deref()) {
            let allowed = ["", "?status=available", "?status=unavailable"];
            prop_assert!(allowed.iter().any(|q| key.ends_with(&format!("/cities/rome/vehicles{q}"))), "{key}");
            prop_assert!(allowed.iter().any(|q| forwarded == format!("/api/v1/cities/rome/vehicles{q}")), "{forwarded}");
        }
    }

    /// Any `cache-control` parses or is refused without panicking; an entry older than the
    /// reader's own write is never served as fresh, superseded or not; an entry a later write
    /// superseded (soft purge) is never served as fresh to anyone.
    #[test]
    fn edge_freshness_never_serves_older_than_a_bookmark(
        cc in "\\PC{0,60}", smax in 0u32..100_000, fetched in 0.0f64..1e13, age in 0.0f64..1e9,
        after in 1.0f64..1e6, superseded in proptest::option::of(0.0f64..1e6),
    ) {
        let _ = Windows::from_cache_control(&cc);
        let windows = Windows::from_cache_control(&format!("public, s-maxage={smax}, stale-while-revalidate=30, stale-if-error=300"));
        if let Some(w) = windows {
            let superseded_at = superseded.map(|s| fetched + s);
            let verdict = judge(fetched, &w, fetched + age, Some(fetched + after), superseded_at);
            prop_assert_eq!(verdict, Verdict::OlderThanBookmark);
            let anonymous = judge(fetched, &w, fetched + age, None, superseded_at);
            if superseded_at.is_some() {
                prop_assert!(matches!(anonymous, Verdict::StaleIfError | Verdict::TooOld), "{anonymous:?}");
            }
        }
    }

    /// The origin's JSON parser: bytes that are not JSON are 400; a well-formed body is a
    /// value or a 422, never a 400; nothing panics.
    #[test]
    fn origin_json_bodies_are_sorted(value in json_value(), junk in prop::collection::vec(any::<u8>(), 0..64)) {
        let bytes = serde_json::to_vec(&value).expect("JSON");
        for status in json_statuses(&bytes) {
            prop_assert!(matches!(status, 200 | 422), "{value} → {status}");
        }
        let not_json = serde_json::from_slice::<serde_json::Value>(&junk).is_err();
        for status in json_statuses(&junk) {
            prop_assert!(matches!(status, 200 | 400 | 422));
            if not_json {
                prop_assert_eq!(status, 400);
            }
        }
    }

    /// The canonical string is a function of the parts, insensitive to header order and name
    /// case, and any change of a part, or of the key, fails verification.
    #[test]
    fn signature_canonicaliser_separates_requests(
        method in "[A-Z]{1,7}", path in "/[ -~]{0,40}", ts in 0i64..4_000_000_000,
        body in prop::collection::vec(any::<u8>(), 0..64),
        headers in prop::collection::vec(("x-roam-[a-z]{1,8}", "[!-~]{0,20}"), 0..6),
        other_path in "/[ -~]{0,40}",
    ) {
        let secret = SharedSecret::parse(DEV_SECRET).expect("secret");
        let parts = SignedParts { method: &method, path_and_query: &path, timestamp: ts, body_sha256: signature::body_digest(&body), headers };
        let sig = signature::sign(&secret, &parts);
        prop_assert_eq!(signature::verify(&secret.clone().into(), &parts, Some(&sig), ts, 30), Ok(()));
        let mut shuffled = parts.clone();
        shuffled.headers.reverse();
        shuffled.headers.iter_mut().for_each(|(n, _)| *n = n.to_ascii_uppercase());
        prop_assert_eq!(shuffled.canonical(), parts.canonical());
        if other_path != path {
            let moved = SignedParts { path_and_query: &other_path, ..parts.clone() };
            prop_assert!(signature::verify(&secret.into(), &moved, Some(&sig), ts, 30).is_err());
        }
        let other = SharedSecret::parse("another-secret-entirely-0123").expect("secret");
        prop_assert!(signature::verify(&other.into(), &parts, Some(&sig), ts, 30).is_err());
    }

    /// Verification of arbitrary signatures and timestamps never panics and never passes.
    #[test]
    fn signature_verification_is_total(sig in "\\PC{0,80}", ts in any::<i64>(), now in any::<i64>(), window in any::<i64>()) {
        let secret = SharedSecret::parse(DEV_SECRET).expect("secret");
        let parts = SignedParts { method: "GET", path_and_query: "/", timestamp: ts, body_sha256: String::new(), headers: vec![] };
        let real = signature::sign(&secret, &parts);
        if sig != real {
            prop_assert!(signature::verify(&secret.into(), &parts, Some(&sig), now, window).is_err());
        }
        let _ = signature::parse_timestamp(Some(&sig));
    }

    /// Tokens: arbitrary text (and bearer headers) never verifies and never panics.
    #[test]
    fn token_decoding_is_total(text in "\\PC{0,300}", header in "\\PC{0,60}") {
        let secret = SharedSecret::parse(DEV_SECRET).expect("secret");
        prop_assert!(token::verify(&secret.clone().into(), &text, 0).is_err());
        let v1 = format!("v1.{text}");
        prop_assert!(token::verify(&secret.into(), &v1, 0).is_err());
        let _ = token::bearer(&header);
        let _ = is_valid_token_id(&text);
    }
}

/// An origin router whose database is unreachable (so only parsing and refusals run), and a
/// runtime to drive it.
fn origin() -> &'static (tokio::runtime::Runtime, axum::Router) {
    static ORIGIN: OnceLock<(tokio::runtime::Runtime, axum::Router)> = OnceLock::new();
    ORIGIN.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let router = runtime.block_on(async {
            // Port 1 refuses connections at once; a short acquire timeout keeps cases quick.
            let url = "postgres://nobody@127.0.0.1:1/none";
            let config = roam_origin::Config::development("eu-west", url).expect("a config");
            let nodes = roam_origin::storage::Nodes::connect(&config, Duration::from_millis(50))
                .expect("pools");
            roam_origin::app(roam_origin::AppState {
                nodes,
                config: Arc::new(config),
                metrics: roam_origin::telemetry::metrics_handle(),
                hasher: roam_origin::password::Hasher::unbounded_wait(256),
                health: roam_origin::storage::health::HealthWatch::default(),
            })
        });
        (runtime, router)
    })
}

fn call(
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> (u16, String, Vec<u8>) {
    let (runtime, router) = origin();
    runtime.block_on(async {
        let mut request = Request::builder().method(method).uri(target);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let Ok(request) = request.body(Body::from(body)) else {
            return (0, String::new(), Vec::new()); // not an HTTP request at all: nothing to send
        };
        let response = router.clone().oneshot(request).await.expect("infallible");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap_or_default();
        (status, content_type, bytes.to_vec())
    })
}

proptest! {
    #![proptest_config(cases(256))]

    /// Arbitrary requests at an origin: unsigned `/api/` requests stop at 401 (or 413), signed
    /// ones are parsed all the way to the handlers; none is a 500, every error is problem+json.
    #[test]
    fn origin_router_never_fails_on_hostile_requests(
        method in method(),
        path in path(),
        query in proptest::option::of("[ -~&&[^# ]]{0,30}"),
        headers in prop::collection::vec((prop_oneof![
            "x-roam-[a-z]{1,8}", "idempotency-key", "authorization", "cookie", "content-type",
            "[a-z-]{1,12}"
        ], "[ -~]{0,40}"), 0..6),
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..200),
            json_value().prop_map(|v| serde_json::to_vec(&v).expect("JSON")),
        ],
        signed in any::<bool>(),
        json in any::<bool>(),
    ) {
        let target = match &query { Some(q) => format!("{path}?{q}"), None => path };
        let mut headers: Vec<(String, String)> = headers;
        if json {
            headers.push(("content-type".into(), "application/json".into()));
        }
        if signed {
            headers.retain(|(n, _)| !n.starts_with("x-roam-"));
            let secret = SharedSecret::parse(DEV_SECRET).expect("secret");
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or_default();
            let parts = SignedParts {
                method: &method, path_and_query: &target, timestamp: now,
                body_sha256: signature::body_digest(&body),
                headers: headers.iter().filter(|(n, _)| is_signed_header(n)).cloned().collect(),
            };
            let sig = signature::sign(&secret, &parts);
            headers.push(("x-roam-timestamp".into(), now.to_string()));
            headers.push(("x-roam-signature".into(), sig));
        }
        let (status, content_type, bytes) = call(&method, &target, &headers, body);
        if status == 0 {
            return Ok(()); // the http crate refused to build it: no server would see it
        }
        prop_assert!(status != 500, "{method} {target} → 500: {}", String::from_utf8_lossy(&bytes));
        // (Outside /api/, /readyz may answer a plain 503 while the database is down.)
        if status >= 400 && method != "HEAD" && (target.starts_with("/api/") || status < 500) {
            prop_assert_eq!(&content_type, "application/problem+json", "{} {} → {}", method, target, status);
        }
        if !signed && target.starts_with("/api/") {
            prop_assert!(matches!(status, 401 | 413), "unsigned {method} {target} → {status}");
        }
    }
}
