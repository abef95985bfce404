//! The origin: its JSON body parser, and its whole router driven in-process with arbitrary
//! requests, signed and unsigned, its database unreachable.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use proptest::prelude::*;
use roam_e2e::client::header_text;
use roam_origin::http::parse_json;
use roam_shared::api::{LogIn, NewVehicle, SignUp, StartRide};
use roam_shared::signature::{self, is_signed_header, SharedSecret, SignedParts, DEV_SECRET};
use tower::ServiceExt;

use crate::cases;
use crate::strategies::{json_value, method, path};

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

/// Sends one request to the in-process origin: (status, content type, body); status 0 when
/// the http crate refuses to build the request at all.
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
        let content_type = header_text(response.headers(), "content-type").to_string();
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
