//! Hostile input, at the edge and straight at an origin (validly signed, so the origin's own
//! parsing is what is tested): malformed and mistyped JSON, huge numbers, unicode edge cases,
//! oversized bodies, wrong or absent content types, path traversal and percent-encoding tricks
//! in `{city}` and `{id}`, unknown routes, wrong methods, header floods and invalid UUIDs.
//!
//! Each case gets its documented status as problem+json, never a 500 or a hang; and nothing
//! that was refused left a row behind. Requests go out as raw bytes, so paths arrive exactly
//! as written.

mod edge_support;
mod fault_support;

use edge_support::{start_edge_for, start_stack, uuid_like, ROME};
use fault_support::{
    pairs, request_bytes, send_raw, signed_in, vehicles_by_marker, Raw, Signer, Signing,
};
use roam_stack::edge::EdgeProcess;
use roam_stack::Stack;
use tokio::sync::OnceCell;

struct World {
    stack: Stack,
    edge: EdgeProcess,
    token: String,
}

/// Statics are never dropped: the stack's and edge's reapers stop them when the binary exits.
async fn world() -> &'static World {
    static WORLD: OnceCell<World> = OnceCell::const_new();
    WORLD
        .get_or_init(|| async {
            let stack = start_stack("hostile-input").await;
            let edge =
                start_edge_for("hostile-input", stack.origin_urls(), &stack.options.secret).await;
            let user = signed_in(&edge.url(), ROME, "hostile", "hostile input password").await;
            let token = user.token.expect("a token");
            World { stack, edge, token }
        })
        .await
}

const JSON: Option<&str> = Some("application/json");
const NIL: &str = "00000000-0000-0000-0000-000000000000";

/// One row of the matrix. `M` in a body is replaced by a marker unique to the case.
struct Case {
    name: &'static str,
    method: &'static str,
    target: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    headers: Vec<(String, String)>,
    expect: &'static [u16],
}

fn case(name: &'static str, method: &'static str, target: &str, expect: &'static [u16]) -> Case {
    Case {
        name,
        method,
        target: target.to_string(),
        content_type: None,
        body: Vec::new(),
        headers: Vec::new(),
        expect,
    }
}

fn post(
    name: &'static str,
    target: &str,
    body: impl Into<Vec<u8>>,
    expect: &'static [u16],
) -> Case {
    Case {
        content_type: JSON,
        body: body.into(),
        ..case(name, "POST", target, expect)
    }
}

/// The matrix both the edge and the origin answer.
fn matrix() -> Vec<Case> {
    let vehicles = "/api/v1/cities/rome/vehicles";
    let rides = "/api/v1/cities/rome/rides";
    let long = "x".repeat(10_000);
    let mib = format!(
        r#"{{"type":"bike","last_location":"M{}"}}"#,
        "a".repeat(1024 * 1024)
    );
    let mut cases = vec![
        // Bodies.
        post("malformed JSON", vehicles, r#"{"type":"#, &[400]),
        post("not JSON", vehicles, "hello", &[400]),
        post("empty body", vehicles, "", &[400]),
        post(
            "trailing garbage",
            vehicles,
            r#"{"type":"bike","last_location":"M"} x"#,
            &[400],
        ),
        post("top-level array", vehicles, "[]", &[422]),
        post("top-level null", vehicles, "null", &[422]),
        post(
            "wrong type",
            vehicles,
            r#"{"type":5,"last_location":"M"}"#,
            &[422],
        ),
        post(
            "unknown enum value",
            vehicles,
            r#"{"type":"tank","last_location":"M"}"#,
            &[422],
        ),
        post("missing field", vehicles, r#"{"type":"bike"}"#, &[422]),
        post(
            "huge float",
            vehicles,
            r#"{"type":"bike","last_location":1e999999}"#,
            &[400],
        ),
        post(
            "huge integer",
            vehicles,
            r#"{"type":"bike","last_location":"M","color":123456789012345678901234567890}"#,
            &[422],
        ),
        post("deep nesting", vehicles, "[".repeat(10_000), &[400]),
        post(
            "NUL in text",
            vehicles,
            r#"{"type":"bike","last_location":"M\u0000x"}"#,
            &[422],
        ),
        post(
            "lone surrogate",
            vehicles,
            r#"{"type":"bike","last_location":"M\ud800"}"#,
            &[400],
        ),
        post(
            "bidi, zero-width, combining, emoji",
            vehicles,
            "{\"type\":\"bike\",\"last_location\":\"M\u{202e}\u{200b}e\u{0301}\u{1f6f4}\"}",
            &[201],
        ),
        post(
            "text far over its limit",
            vehicles,
            format!(r#"{{"type":"bike","last_location":"M{long}"}}"#),
            &[422],
        ),
        post(
            "invalid UTF-8",
            vehicles,
            b"{\"type\":\"bike\",\"last_location\":\"M\xff\xfe\"}".to_vec(),
            &[400],
        ),
        post(
            "byte-order mark",
            vehicles,
            "\u{feff}{\"type\":\"bike\",\"last_location\":\"M\"}",
            &[400],
        ),
        post(
            "duplicate keys",
            vehicles,
            r#"{"type":"bike","type":"scooter","last_location":"M"}"#,
            &[422],
        ),
        post("1 MiB body", vehicles, mib, &[413]),
        Case {
            content_type: Some("text/plain"),
            ..post(
                "text/plain",
                vehicles,
                r#"{"type":"bike","last_location":"M"}"#,
                &[415],
            )
        },
        Case {
            content_type: None,
            ..post(
                "no content type",
                vehicles,
                r#"{"type":"bike","last_location":"M"}"#,
                &[415],
            )
        },
        Case {
            content_type: Some("application/x-www-form-urlencoded"),
            ..post(
                "form encoded",
                vehicles,
                "type=bike&last_location=M",
                &[415],
            )
        },
        Case {
            content_type: Some("application/json; charset=utf-8"),
            ..post(
                "JSON with charset (control)",
                vehicles,
                r#"{"type":"bike","last_location":"M"}"#,
                &[201],
            )
        },
        post(
            "vehicle_id not a UUID",
            rides,
            r#"{"vehicle_id":"not-a-uuid"}"#,
            &[422],
        ),
        post(
            "vehicle_id a number",
            rides,
            r#"{"vehicle_id":123456789012345678901234567890}"#,
            &[422],
        ),
        post(
            "vehicle_id nil UUID",
            rides,
            format!(r#"{{"vehicle_id":"{NIL}"}}"#),
            &[404],
        ),
        post(
            "end: location of the wrong type",
            &format!("{rides}/{NIL}/end"),
            r#"{"location":5}"#,
            &[422],
        ),
        post(
            "end: id not a UUID",
            &format!("{rides}/not-a-uuid/end"),
            r#"{"location":"x"}"#,
            &[404],
        ),
        post(
            "sign-up: wrong types",
            "/api/v1/users",
            r#"{"email":5,"name":[],"password":{}}"#,
            &[422],
        ),
        post(
            "sign-up: NUL in name",
            "/api/v1/users",
            format!(
                r#"{{"email":"nul-{}@example.com","name":"a\u0000b","password":"a long enough password"}}"#,
                uuid_like()
            ),
            &[422],
        ),
        post(
            "log-in: wrong types",
            "/api/v1/sessions",
            r#"{"email":null,"password":5}"#,
            &[422],
        ),
        post(
            "unknown city",
            "/api/v1/cities/atlantis/rides",
            format!(r#"{{"vehicle_id":"{NIL}"}}"#),
            &[404],
        ),
        // Paths.
        case(
            "traversal",
            "GET",
            "/api/v1/cities/../../../etc/passwd",
            &[404],
        ),
        case(
            "encoded traversal",
            "GET",
            "/api/v1/cities/%2e%2e/vehicles",
            &[404],
        ),
        case(
            "double-encoded traversal",
            "GET",
            "/api/v1/cities/%252e%252e/vehicles",
            &[404],
        ),
        case(
            "encoded slash",
            "GET",
            "/api/v1/cities/rome%2Fvehicles",
            &[404],
        ),
        case(
            "encoded NUL",
            "GET",
            "/api/v1/cities/rome%00/vehicles",
            &[404],
        ),
        case(
            "non-ASCII city",
            "GET",
            "/api/v1/cities/r%C3%B6me/vehicles",
            &[404],
        ),
        case(
            "city in capitals",
            "GET",
            "/api/v1/cities/ROME/vehicles",
            &[404],
        ),
        case(
            "very long city",
            "GET",
            &format!("/api/v1/cities/{}/vehicles", "r".repeat(5_000)),
            &[404],
        ),
        case(
            "id not a UUID",
            "GET",
            "/api/v1/cities/rome/vehicles/not-a-uuid",
            &[404],
        ),
        case(
            "id traversal",
            "GET",
            "/api/v1/cities/rome/vehicles/..%2F..%2Fusers",
            &[404],
        ),
        case(
            "id nil UUID",
            "GET",
            &format!("/api/v1/cities/rome/vehicles/{NIL}"),
            &[404],
        ),
        case(
            "id in braces",
            "GET",
            "/api/v1/cities/rome/vehicles/%7B6a0f8c2e-1b1e-4f7b-9d55-0c1d2e3f4a5b%7D",
            &[404],
        ),
        case(
            "unknown status filter",
            "GET",
            "/api/v1/cities/rome/vehicles?status=bogus",
            &[422],
        ),
        case(
            "NUL in a query",
            "GET",
            "/api/v1/cities/rome/vehicles?status=%00",
            &[422],
        ),
        case("unknown route", "GET", "/api/v1/nope", &[404]),
        case(
            "unknown version",
            "GET",
            "/api/v2/cities/rome/vehicles",
            &[404],
        ),
        case(
            "double slash",
            "GET",
            "//api/v1/cities/rome/vehicles",
            &[404],
        ),
        // Methods.
        case("PUT a list", "PUT", vehicles, &[405]),
        case("DELETE users", "DELETE", "/api/v1/users", &[405]),
        case("PATCH sessions", "PATCH", "/api/v1/sessions", &[405]),
        case("GET sign-up", "GET", "/api/v1/users", &[405]),
        case("POST my rides", "POST", "/api/v1/me/rides", &[405]),
    ];
    // Headers.
    let mut flood = post(
        "300 headers",
        vehicles,
        r#"{"type":"bike","last_location":"M"}"#,
        &[201, 400, 431],
    );
    flood.headers = (0..300)
        .map(|i| (format!("x-flood-{i}"), "v".repeat(20)))
        .collect();
    cases.push(flood);
    let mut huge = case("one 64 KiB header", "GET", vehicles, &[200, 400, 431]);
    huge.headers = vec![("x-huge".into(), "h".repeat(64 * 1024))];
    cases.push(huge);
    let mut cookies = case("200 cookies", "GET", vehicles, &[200]);
    cookies.headers = vec![(
        "cookie".into(),
        (0..200)
            .map(|i| format!("c{i}=v{i}"))
            .collect::<Vec<_>>()
            .join("; "),
    )];
    cases.push(cookies);
    let mut key = post(
        "idempotency key with a space",
        vehicles,
        r#"{"type":"bike","last_location":"M"}"#,
        &[422],
    );
    key.headers = pairs(&[("idempotency-key", "not valid")]);
    cases.push(key);
    let mut long_key = post(
        "idempotency key of 200 chars",
        vehicles,
        r#"{"type":"bike","last_location":"M"}"#,
        &[422],
    );
    long_key.headers = vec![("idempotency-key".into(), "k".repeat(200))];
    cases.push(long_key);
    let mut bearer = post(
        "garbage bearer token",
        vehicles,
        r#"{"type":"bike","last_location":"M"}"#,
        &[401],
    );
    bearer.headers = pairs(&[("authorization", "Bearer v1.%%%.!!!")]);
    cases.push(bearer);
    cases
}

/// Sends every case through `send` and checks the answers; returns how many were created.
async fn run_matrix<F, Fut>(where_: &str, run: &str, send: F) -> usize
where
    F: Fn(Case) -> Fut,
    Fut: std::future::Future<Output = Raw>,
{
    let mut failures = Vec::new();
    let mut created = 0;
    let cases = matrix();
    let total = cases.len();
    for (i, mut c) in cases.into_iter().enumerate() {
        let marker = format!("{run}-{i}-");
        c.body = replace_marker(&c.body, marker.as_bytes());
        let (name, expect) = (c.name, c.expect);
        let started = std::time::Instant::now();
        let answer = send(c).await;
        eprintln!(
            "CASE {where_:>6} {:>3} {name} ({:?})",
            answer.status,
            started.elapsed()
        );
        let problem_ok = answer.status < 400
            || matches!(answer.status, 414 | 431)
            || (answer.header("content-type") == "application/problem+json"
                && answer.json()["status"] == answer.status);
        if !expect.contains(&answer.status) || !problem_ok {
            failures.push(format!(
                "{name}: {} (expected {expect:?}) {} {}",
                answer.status,
                answer.header("content-type"),
                answer.text().chars().take(200).collect::<String>()
            ));
        }
        created += usize::from(answer.status == 201);
    }
    eprintln!(
        "FIGURES hostile input at the {where_}: {total} cases, {} off the contract",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "at the {where_}:\n{}",
        failures.join("\n")
    );
    created
}

fn replace_marker(body: &[u8], marker: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + marker.len());
    let mut i = 0;
    let mut done = false;
    while i < body.len() {
        // The first `"M` opens a location: the marker goes there.
        if !done && body[i] == b'"' && body.get(i + 1) == Some(&b'M') {
            out.push(b'"');
            out.extend_from_slice(marker);
            i += 2;
            done = true;
        } else {
            out.push(body[i]);
            i += 1;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn the_edge_answers_hostile_input_with_its_documented_problems() {
    let world = world().await;
    let run = format!("hostile-edge-{}", uuid_like());
    let base = world.edge.url();
    let token = world.token.clone();
    let created = run_matrix("edge", &run, |c| {
        let mut headers = pairs(&[("mf-cf-blob", ROME.blob)]);
        if !c.headers.iter().any(|(n, _)| n == "authorization") {
            headers.push(("authorization".into(), format!("Bearer {token}")));
        }
        if let Some(ct) = c.content_type {
            headers.push(("content-type".into(), ct.into()));
        }
        headers.extend(c.headers);
        let bytes = request_bytes(c.method, c.target.as_bytes(), &headers, &c.body);
        let base = base.clone();
        async move { send_raw(&base, &bytes).await }
    })
    .await;
    let rows = vehicles_by_marker(&world.stack, "eu-west", &run).await;
    assert_eq!(
        rows.values().map(Vec::len).sum::<usize>(),
        created,
        "no partial writes: {rows:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_origin_answers_hostile_input_with_its_documented_problems() {
    let world = world().await;
    let run = format!("hostile-origin-{}", uuid_like());
    let origin = world.stack.origin("eu-west").expect("an origin").url();
    let signer = Signer::new(&origin, &world.stack.options.secret);
    let token = world.token.clone();
    let created = run_matrix("origin", &run, |c| {
        let mut headers = Vec::new();
        if !c.headers.iter().any(|(n, _)| n == "authorization") {
            headers.push(("authorization".into(), format!("Bearer {token}")));
        }
        if let Some(ct) = c.content_type {
            headers.push(("content-type".into(), ct.into()));
        }
        if c.method == "POST" && !c.headers.iter().any(|(n, _)| n == "idempotency-key") {
            headers.push(("idempotency-key".into(), format!("hostile-{}", uuid_like())));
        }
        headers.extend(c.headers);
        let signer = signer.clone();
        async move {
            signer
                .send(c.method, &c.target, &c.body, &headers, Signing::Valid)
                .await
        }
    })
    .await;
    let rows = vehicles_by_marker(&world.stack, "eu-west", &run).await;
    assert_eq!(
        rows.values().map(Vec::len).sum::<usize>(),
        created,
        "no partial writes: {rows:?}"
    );
}
