//! Many clients at once on the same rows: 200 concurrent ride starts on 20 vehicles, one write
//! retried 20× concurrently under one idempotency key across two origins (and through the
//! edge), and an origin that is slow or silent behind the latency proxy.
//!
//! One stack serves the file; each test starts the edge it needs.

mod edge_support;
mod fault_support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use edge_support::{start_edge_for, start_stack, uuid_like, User, LOS_ANGELES, ROME};
use fault_support::{partition, signed_in, sql, vehicles_by_marker, Signer, Signing};
use reqwest::Method;
use roam_stack::edge::{start_edge, EdgeOptions};
use roam_stack::Stack;
use roam_wan::{Fault, Link};
use serde_json::json;
use tokio::sync::OnceCell;
use tokio::task::JoinSet;

const PASSWORD: &str = "fault contention password";

/// Statics are never dropped: the stack's reapers stop it when the binary exits.
async fn stack() -> &'static Stack {
    static STACK: OnceCell<Stack> = OnceCell::const_new();
    STACK.get_or_init(|| start_stack("fault-contention")).await
}

#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_concurrent_starts_on_twenty_vehicles_make_exactly_twenty_rides() {
    let stack = stack().await;
    let mut edge = start_edge_for("contention", stack.origin_urls(), &stack.options.secret).await;
    let base = edge.url();
    let owner = signed_in(&base, ROME, "fleet", PASSWORD).await;
    let marker = format!("contended{}", uuid_like());
    let mut vehicles = Vec::new();
    for i in 0..20 {
        let added = owner
            .post(
                "/api/v1/cities/paris/vehicles",
                &json!({"type": "bike", "last_location": format!("{marker}-{i}")}),
            )
            .await
            .expect(201);
        vehicles.push(added.body["id"].as_str().expect("an id").to_string());
    }
    // Two riders contend for each vehicle, each trying five times (a rider may hold one
    // open ride at a time, so one start per rider can win).
    let mut riders = Vec::new();
    for i in 0..40 {
        riders.push(signed_in(&base, ROME, &format!("rider{i}"), PASSWORD).await);
    }

    let mut starts = JoinSet::new();
    for n in 0..200 {
        let rider = riders[n % riders.len()].clone();
        let vehicle = vehicles[n % vehicles.len()].clone();
        starts.spawn(async move {
            let answer = rider
                .post(
                    "/api/v1/cities/paris/rides",
                    &json!({"vehicle_id": vehicle}),
                )
                .await;
            (vehicle, answer)
        });
    }
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    let mut won: BTreeMap<String, usize> = BTreeMap::new();
    while let Some(joined) = starts.join_next().await {
        let (vehicle, answer) = joined.expect("a start task");
        *statuses.entry(answer.status.as_u16()).or_default() += 1;
        match answer.status.as_u16() {
            201 => *won.entry(vehicle).or_default() += 1,
            409 => assert_eq!(
                answer.header("content-type"),
                "application/problem+json",
                "{answer:#?}"
            ),
            _ => panic!("a start was neither won nor lost: {answer:#?}"),
        }
    }
    eprintln!("FIGURES contention: 200 starts on 20 vehicles → {statuses:?}");
    assert_eq!(statuses.get(&201), Some(&20), "{statuses:?}");
    assert_eq!(statuses.get(&409), Some(&180), "{statuses:?}");
    assert!(won.values().all(|&n| n == 1), "one winner per vehicle");

    let ids = vehicles
        .iter()
        .map(|v| format!("'{v}'"))
        .collect::<Vec<_>>()
        .join(",");
    let rides = partition("rides", "eu-west");
    let open = sql(
        stack,
        "eu-west",
        &format!(
            "SELECT vehicle_id || ':' || count(*) FROM \"{rides}\" \
             WHERE vehicle_id IN ({ids}) AND end_time IS NULL GROUP BY vehicle_id"
        ),
    )
    .await;
    assert_eq!(open.len(), 20, "every vehicle has an open ride: {open:?}");
    assert!(
        open.iter().all(|row| row.ends_with(":1")),
        "no vehicle has two open rides: {open:?}"
    );
    let total = sql(
        stack,
        "eu-west",
        &format!("SELECT count(*) FROM \"{rides}\" WHERE vehicle_id IN ({ids})"),
    )
    .await;
    assert_eq!(total, ["20"], "exactly 20 rides");
    let available = sql(
        stack,
        "eu-west",
        &format!(
            "SELECT count(*) FROM \"{}\" WHERE id IN ({ids}) AND status = 'available'",
            partition("vehicles", "eu-west")
        ),
    )
    .await;
    assert_eq!(available, ["0"], "every ridden vehicle is unavailable");
    edge.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn one_write_retried_twenty_times_at_once_across_two_origins_has_one_effect() {
    let stack = stack().await;
    let mut edge = start_edge_for("storm", stack.origin_urls(), &stack.options.secret).await;
    let user = signed_in(&edge.url(), ROME, "storm", PASSWORD).await;
    let token = user.token.clone().expect("a token");
    let marker = format!("storm{}", uuid_like());
    let key = format!("{marker}-key");
    let body = serde_json::to_vec(&json!({"type": "bike", "last_location": marker})).expect("JSON");
    let headers = fault_support::pairs(&[
        ("content-type", "application/json"),
        ("authorization", &format!("Bearer {token}")),
        ("idempotency-key", &key),
    ]);

    // Straight to two origins: Rome's own, and us-east's (which writes through postgres_fdw).
    let mut storm = JoinSet::new();
    for n in 0..20 {
        let region = if n % 2 == 0 { "eu-west" } else { "us-east" };
        let origin = stack.origin(region).expect("an origin").url();
        let signer = Signer::new(&origin, &stack.options.secret);
        let (body, headers) = (body.clone(), headers.clone());
        storm.spawn(async move {
            let answer = signer
                .send(
                    "POST",
                    "/api/v1/cities/rome/vehicles",
                    &body,
                    &headers,
                    Signing::Valid,
                )
                .await;
            (region, answer)
        });
    }
    let mut ids = BTreeSet::new();
    let mut statuses: BTreeMap<(&str, u16), usize> = BTreeMap::new();
    while let Some(joined) = storm.join_next().await {
        let (region, answer) = joined.expect("a storm task");
        *statuses.entry((region, answer.status)).or_default() += 1;
        assert_eq!(answer.status, 201, "{region}: {}", answer.text());
        ids.insert(answer.json()["id"].as_str().map(str::to_string));
    }
    let rows = vehicles_by_marker(stack, "eu-west", &marker).await;
    eprintln!("FIGURES retry storm (origins): {statuses:?}, ids {ids:?}, rows {rows:?}");
    assert_eq!(ids.len(), 1, "every answer names the same vehicle: {ids:?}");
    assert_eq!(
        rows.get(&marker).map(Vec::len),
        Some(1),
        "one row: {rows:?}"
    );
    assert_eq!(
        ids.first().cloned().flatten().as_deref(),
        rows[&marker].first().map(String::as_str)
    );

    // The same through the edge, on a contended effect: one ride, one unavailable vehicle.
    let vehicle = ids.first().cloned().flatten().expect("the vehicle");
    let ride_key = format!("{marker}-ride");
    let mut storm = JoinSet::new();
    for _ in 0..20 {
        let (user, vehicle, ride_key) = (user.clone(), vehicle.clone(), ride_key.clone());
        storm.spawn(async move {
            user.send(
                Method::POST,
                "/api/v1/cities/rome/rides",
                Some(&json!({"vehicle_id": vehicle})),
                &[("idempotency-key", &ride_key)],
            )
            .await
        });
    }
    let mut rides = BTreeSet::new();
    while let Some(joined) = storm.join_next().await {
        let answer = joined.expect("a storm task").expect(201);
        rides.insert(answer.body["id"].as_str().map(str::to_string));
    }
    let count = sql(
        stack,
        "eu-west",
        &format!(
            "SELECT count(*) FROM \"{}\" WHERE vehicle_id = '{vehicle}'",
            partition("rides", "eu-west")
        ),
    )
    .await;
    eprintln!("FIGURES retry storm (edge): 20 starts, one key → rides {rides:?}, rows {count:?}");
    assert_eq!(rides.len(), 1, "{rides:?}");
    assert_eq!(count, ["1"], "one ride");
    edge.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_or_silent_origin_costs_one_timeout_then_fails_over_or_answers_504() {
    // Short timeouts so the test is quick; the defaults are 3 s (reads) and 10 s (writes).
    const READ_TIMEOUT_MS: u64 = 1_000;
    const WRITE_TIMEOUT_MS: u64 = 1_500;
    let slack = Duration::from_millis(1_500);
    let stack = stack().await;
    // Every origin behind a proxy this test controls.
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
        ("ORIGIN_TIMEOUT_MS".into(), READ_TIMEOUT_MS.to_string()),
        (
            "ORIGIN_WRITE_TIMEOUT_MS".into(),
            WRITE_TIMEOUT_MS.to_string(),
        ),
    ]);
    let mut edge = start_edge(options).await.expect("an edge");
    let user = signed_in(&edge.url(), LOS_ANGELES, "slow", PASSWORD).await;
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
    let read_timeout = Duration::from_millis(READ_TIMEOUT_MS);
    let write_timeout = Duration::from_millis(WRITE_TIMEOUT_MS);

    // us-west slow (4 s round trips): one timeout, then us-east answers.
    links["us-west"].set_rtt(Duration::from_secs(4));
    let (answer, took) = timed(
        &user,
        &format!("/api/v1/cities/los-angeles/vehicles/{}", ids[0]),
    )
    .await;
    eprintln!("FIGURES slow origin: read failed over in {took:?}");
    assert_eq!(answer.status.as_u16(), 200, "{answer:#?}");
    assert_eq!(answer.header("x-roam-served-by"), "us-east");
    assert!(took < read_timeout + slack, "{took:?}");

    // A write to the slow region: the late copy that reaches us-west after the edge gave up
    // finds the idempotency record us-east committed.
    let marker = format!("slow{}", uuid_like());
    let started = Instant::now();
    let added = user
        .post(
            "/api/v1/cities/los-angeles/vehicles",
            &json!({"type": "scooter", "last_location": marker}),
        )
        .await;
    let took = started.elapsed();
    eprintln!(
        "FIGURES slow origin: write answered {} in {took:?}",
        added.status
    );
    assert_eq!(added.status.as_u16(), 201, "{added:#?}");
    assert_eq!(added.header("x-roam-served-by"), "us-east");
    assert!(took < write_timeout + slack, "{took:?}");

    // Every origin silent (a partition: bytes go nowhere): 504 or 503, bounded, never a hang.
    for link in links.values() {
        link.set_fault(Fault::Blackhole);
    }
    let (answer, took) = timed(
        &user,
        &format!("/api/v1/cities/los-angeles/vehicles/{}", ids[1]),
    )
    .await;
    eprintln!(
        "FIGURES slow origin: all silent → {} in {took:?}",
        answer.status
    );
    assert!(matches!(answer.status.as_u16(), 503 | 504), "{answer:#?}");
    assert_eq!(answer.header("content-type"), "application/problem+json");
    assert!(took < 3 * read_timeout + slack, "{took:?}");
    let started = Instant::now();
    let write = user
        .post(
            "/api/v1/cities/los-angeles/vehicles",
            &json!({"type": "scooter", "last_location": format!("{marker}-silent")}),
        )
        .await;
    let took = started.elapsed();
    eprintln!(
        "FIGURES slow origin: all silent, write → {} in {took:?}",
        write.status
    );
    assert!(matches!(write.status.as_u16(), 503 | 504), "{write:#?}");
    assert!(took < 3 * write_timeout + slack, "{took:?}");

    // Let any late copy arrive, then count.
    for link in links.values() {
        link.set_fault(Fault::None);
        link.set_rtt(Duration::ZERO);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rows = vehicles_by_marker(stack, "us-west", &marker).await;
    eprintln!("FIGURES slow origin: rows {rows:?}");
    assert_eq!(
        rows.get(&marker).map(Vec::len),
        Some(1),
        "one effect: {rows:?}"
    );
    assert_eq!(
        rows.get(&marker)
            .and_then(|r| r.first())
            .map(String::as_str),
        added.body["id"].as_str()
    );
    assert!(
        rows.get(&format!("{marker}-silent")).map_or(0, Vec::len) <= 1,
        "an unanswered write has at most one effect: {rows:?}"
    );
    edge.stop();
}

async fn timed(user: &User, path: &str) -> (edge_support::Answer, Duration) {
    let started = Instant::now();
    let answer = user.get(path).await;
    (answer, started.elapsed())
}
