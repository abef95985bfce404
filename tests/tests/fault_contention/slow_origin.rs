//! An origin that is slow or silent behind the latency proxy costs one timeout, then the edge
//! fails over or answers 504; a write the edge gave up on has at most one effect.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use roam_e2e::client::{uuid_like, Answer, User};
use roam_e2e::db::vehicles_by_marker;
use roam_e2e::place::LOS_ANGELES;
use roam_e2e::world::start_edge_with;
use roam_stack::edge::{EdgeOptions, EdgeProcess};
use roam_stack::Stack;
use roam_wan::{Fault, Link, LinkHandle};
use serde_json::json;

use crate::{stack, PASSWORD};

// Short timeouts so the test is quick; the defaults are 3 s (reads) and 10 s (writes).
const READ_TIMEOUT: Duration = Duration::from_millis(1_000);
const WRITE_TIMEOUT: Duration = Duration::from_millis(1_500);
const SLACK: Duration = Duration::from_millis(1_500);

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_or_silent_origin_costs_one_timeout_then_fails_over_or_answers_504() {
    let stack = stack().await;
    let (links, edge) = behind_proxies(stack).await;
    let user = User::signed_in(&edge.url(), LOS_ANGELES, "slow", PASSWORD).await;
    let list = user
        .get("/api/v1/cities/los-angeles/vehicles")
        .await
        .expect(200);
    let ids: Vec<String> = list.body["vehicles"]
        .as_array()
        .expect("vehicles")
        .iter()
        .filter_map(|v| v["id"].as_str().map(str::to_string))
        .collect();
    assert!(ids.len() >= 3, "seeded vehicles");

    // us-west slow (4 s round trips): one timeout, then us-east answers.
    links["us-west"].set_rtt(Duration::from_secs(4));
    let vehicle = |i: usize| format!("/api/v1/cities/los-angeles/vehicles/{}", ids[i]);
    let (answer, took) = timed(user.get(&vehicle(0))).await;
    eprintln!("FIGURES slow origin: read failed over in {took:?}");
    assert_eq!(answer.status.as_u16(), 200, "{answer:#?}");
    assert_eq!(answer.header("x-roam-served-by"), "us-east");
    assert!(took < READ_TIMEOUT + SLACK, "{took:?}");

    // A write to the slow region: the late copy that reaches us-west after the edge gave up
    // finds the idempotency record us-east committed.
    let marker = format!("slow{}", uuid_like());
    let (added, took) = timed(add_scooter(&user, &marker)).await;
    eprintln!(
        "FIGURES slow origin: write answered {} in {took:?}",
        added.status
    );
    assert_eq!(added.status.as_u16(), 201, "{added:#?}");
    assert_eq!(added.header("x-roam-served-by"), "us-east");
    assert!(took < WRITE_TIMEOUT + SLACK, "{took:?}");

    all_silent(&links, &user, &vehicle(1), &marker).await;
    one_effect_each(stack, &links, &marker, &added).await;
}

/// Every origin of `stack` behind a proxy this test controls (region → its link), and an edge
/// with short timeouts in front of the proxies.
async fn behind_proxies(stack: &Stack) -> (BTreeMap<String, LinkHandle>, EdgeProcess) {
    let mut links = BTreeMap::new();
    let mut origins = BTreeMap::new();
    for origin in &stack.origins {
        let target = format!("127.0.0.1:{}", origin.port)
            .parse()
            .expect("an address");
        let link = Link::new(target).start().await.expect("a link");
        origins.insert(
            origin.options.region.clone(),
            format!("http://{}", link.addr()),
        );
        links.insert(origin.options.region.clone(), link);
    }
    let mut options = EdgeOptions::new("slow-origin", origins, &stack.options.secret);
    options.vars.extend([
        (
            "ORIGIN_TIMEOUT_MS".into(),
            READ_TIMEOUT.as_millis().to_string(),
        ),
        (
            "ORIGIN_WRITE_TIMEOUT_MS".into(),
            WRITE_TIMEOUT.as_millis().to_string(),
        ),
    ]);
    (links, start_edge_with(options).await)
}

/// Every origin silent (a partition: bytes go nowhere): a read and a write get 504 or 503,
/// bounded, never a hang.
async fn all_silent(links: &BTreeMap<String, LinkHandle>, user: &User, path: &str, marker: &str) {
    for link in links.values() {
        link.set_fault(Fault::Blackhole);
    }
    let (answer, took) = timed(user.get(path)).await;
    eprintln!(
        "FIGURES slow origin: all silent → {} in {took:?}",
        answer.status
    );
    assert!(matches!(answer.status.as_u16(), 503 | 504), "{answer:#?}");
    assert_eq!(answer.header("content-type"), "application/problem+json");
    assert!(took < 3 * READ_TIMEOUT + SLACK, "{took:?}");
    let (write, took) = timed(add_scooter(user, &format!("{marker}-silent"))).await;
    eprintln!(
        "FIGURES slow origin: all silent, write → {} in {took:?}",
        write.status
    );
    assert!(matches!(write.status.as_u16(), 503 | 504), "{write:#?}");
    assert!(took < 3 * WRITE_TIMEOUT + SLACK, "{took:?}");
}

/// Heals the links, lets any late copy arrive, then counts: the acknowledged write is on
/// us-west once, as `added` said; the unanswered one at most once.
async fn one_effect_each(
    stack: &Stack,
    links: &BTreeMap<String, LinkHandle>,
    marker: &str,
    added: &Answer,
) {
    for link in links.values() {
        link.set_fault(Fault::None);
        link.set_rtt(Duration::ZERO);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rows = vehicles_by_marker(stack, "us-west", marker).await;
    eprintln!("FIGURES slow origin: rows {rows:?}");
    assert_eq!(
        rows.get(marker).map(Vec::len),
        Some(1),
        "one effect: {rows:?}"
    );
    assert_eq!(
        rows.get(marker).and_then(|r| r.first()).map(String::as_str),
        added.body["id"].as_str()
    );
    assert!(
        rows.get(&format!("{marker}-silent")).map_or(0, Vec::len) <= 1,
        "an unanswered write has at most one effect: {rows:?}"
    );
}

/// Adds a scooter in Los Angeles at `location`.
async fn add_scooter(user: &User, location: &str) -> Answer {
    user.post(
        "/api/v1/cities/los-angeles/vehicles",
        &json!({"type": "scooter", "last_location": location}),
    )
    .await
}

/// The answer `request` gets, and how long it took.
async fn timed(request: impl std::future::Future<Output = Answer>) -> (Answer, Duration) {
    let started = Instant::now();
    let answer = request.await;
    (answer, started.elapsed())
}
