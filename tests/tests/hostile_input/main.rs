//! Hostile input, at the edge and straight at an origin (validly signed, so the origin's own
//! parsing is what is tested): malformed and mistyped JSON, huge numbers, unicode edge cases,
//! oversized bodies, wrong or absent content types, path traversal and percent-encoding tricks
//! in `{city}` and `{id}`, unknown routes, wrong methods, header floods and invalid UUIDs.
//!
//! Each case gets its documented status as problem+json, never a 500 or a hang; and nothing
//! that was refused left a row behind. Requests go out as raw bytes, so paths arrive exactly
//! as written. The cases are in this binary's modules, by surface.

mod bodies;
mod cases;
mod headers;
mod paths;

use cases::Case;
use roam_e2e::client::uuid_like;
use roam_e2e::db::vehicles_by_marker;
use roam_e2e::place::ROME;
use roam_e2e::raw::{pairs, request_bytes, send_raw, Raw};
use roam_e2e::signer::Signing;
use roam_e2e::world::World;
use tokio::sync::OnceCell;

async fn world() -> &'static World {
    static WORLD: OnceCell<World> = OnceCell::const_new();
    World::shared(&WORLD, "hostile-input").await
}

/// The session token every case carries (unless it brings its own).
async fn token() -> String {
    static TOKEN: OnceCell<String> = OnceCell::const_new();
    TOKEN
        .get_or_init(|| async {
            let user = world()
                .await
                .signed_in(ROME, "hostile", "hostile input password")
                .await;
            user.token.expect("a token")
        })
        .await
        .clone()
}

/// Sends every case through `send` and checks the answers; returns how many were created.
async fn run_matrix<F, Fut>(where_: &str, run: &str, send: F) -> usize
where
    F: Fn(Case) -> Fut,
    Fut: std::future::Future<Output = Raw>,
{
    let mut failures = Vec::new();
    let mut created = 0;
    let cases = cases::matrix();
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

/// `body` with its first `"M` (where a location opens) made `"<marker>`.
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
    let token = token().await;
    let created = run_matrix("edge", &run, |c| {
        let mut headers = pairs(&[("mf-cf-blob", ROME.blob)]);
        session_and_type(&mut headers, &c, &token);
        headers.extend(c.headers);
        let bytes = request_bytes(c.method, c.target.as_bytes(), &headers, &c.body);
        let base = base.clone();
        async move { send_raw(&base, &bytes).await }
    })
    .await;
    no_partial_writes(world, &run, created).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_origin_answers_hostile_input_with_its_documented_problems() {
    let world = world().await;
    let run = format!("hostile-origin-{}", uuid_like());
    let signer = world.signer("eu-west");
    let token = token().await;
    let created = run_matrix("origin", &run, |c| {
        let mut headers = Vec::new();
        session_and_type(&mut headers, &c, &token);
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
    no_partial_writes(world, &run, created).await;
}

/// The session token (unless the case brings its own `authorization`) and the case's content
/// type, as both sides' matrices send them.
fn session_and_type(headers: &mut Vec<(String, String)>, c: &Case, token: &str) {
    if !c.headers.iter().any(|(n, _)| n == "authorization") {
        headers.push(("authorization".into(), format!("Bearer {token}")));
    }
    if let Some(ct) = c.content_type {
        headers.push(("content-type".into(), ct.into()));
    }
}

/// Every vehicle of the run on eu-west's node came from a case answered 201: none half-made.
async fn no_partial_writes(world: &World, run: &str, created: usize) {
    let rows = vehicles_by_marker(&world.stack, "eu-west", run).await;
    assert_eq!(
        rows.values().map(Vec::len).sum::<usize>(),
        created,
        "no partial writes: {rows:?}"
    );
}
