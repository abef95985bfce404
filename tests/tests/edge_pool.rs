//! (Long because the pool test is one scenario in phases, each a function of this file.)
//!
//! Origin pools through the edge (real workerd): eu-west served by two origins on its node.
//! Both take traffic while healthy; when one dies (SIGKILL, under a bounded load of reads and
//! idempotency-keyed writes from well-behaved clients) no request is lost, every acknowledged
//! write is in the database exactly once, traffic moves to the survivor, the dead origin's
//! breaker opens while the region stays healthy, and only with the whole pool down does Rome
//! fail over to another region.

use std::time::Duration;

use reqwest::Method;
use roam_e2e::client::{region_entry, uuid_like, User};
use roam_e2e::db::sql;
use roam_e2e::place::ROME;
use roam_e2e::world::{start_edge_with, start_stack_with};
use roam_stack::edge::EdgeOptions;
use roam_stack::{Stack, StackOptions};
use serde_json::{json, Value};

const PASSWORD: &str = "pool test password";
/// Concurrent clients in the load.
const CLIENTS: usize = 3;
/// Operations per client while the pool is healthy (every third one a write).
const OPERATIONS: usize = 30;
/// Operations per client in the load the kill lands in (long enough to be cut in the middle).
const OPERATIONS_AROUND_KILL: usize = 90;
/// Requests the doomed origin takes in that load before it is killed.
const KILL_AFTER: u64 = 10;
/// Attempts a well-behaved client makes at one operation (same idempotency key each time).
const ATTEMPTS: u32 = 5;

/// Requests an origin has answered on the API routes, from its own `/metrics` (on its admin
/// listener, `url`).
async fn api_requests(url: &str) -> u64 {
    let text = reqwest::get(format!("{url}/metrics"))
        .await
        .and_then(|r| r.error_for_status())
        .unwrap_or_else(|e| panic!("{url}/metrics: {e}"))
        .text()
        .await
        .expect("a metrics body");
    text.lines()
        .filter(|l| l.starts_with("roam_http_requests_total{") && l.contains("route=\"/api/"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// The API request counts of eu-west's origins, in pool order.
async fn eu_west_counts(stack: &Stack) -> Vec<u64> {
    let mut counts = Vec::new();
    for origin in stack.origins_of("eu-west") {
        counts.push(api_requests(&origin.admin_url()).await);
    }
    counts
}

/// eu-west's entry of `/api/v1/regions`.
async fn eu_west_health(user: &User) -> Value {
    let regions = user.get("/api/v1/regions").await.expect(200);
    let eu_west = region_entry(&regions.body, "eu-west").clone();
    assert!(!eu_west.is_null(), "eu-west in /api/v1/regions");
    eu_west
}

/// What one client saw.
#[derive(Debug, Default)]
struct Outcome {
    /// Operations that succeeded (within [`ATTEMPTS`]).
    done: usize,
    /// Operations that never succeeded: (operation, last status).
    failed: Vec<(String, u16)>,
    /// Attempts beyond the first.
    retries: u32,
    /// Vehicle id → marker of every acknowledged write.
    written: Vec<(String, String)>,
    /// Regions that answered.
    served_by: Vec<String>,
}

/// A well-behaved client: reads its rides and adds vehicles, each write with its own
/// idempotency key kept across retries; a 5xx (or 429) is retried after a short wait.
async fn client(user: User, name: String, operations: usize) -> Outcome {
    let mut outcome = Outcome::default();
    for n in 0..operations {
        let write = n % 3 == 2;
        let marker = format!("{name}-{n}");
        let key = format!("pool-{name}-{n}");
        let body = json!({"type": "scooter", "last_location": "Via del Corso", "brand": marker});
        let mut last = 0;
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                outcome.retries += 1;
                tokio::time::sleep(Duration::from_millis(300 * u64::from(attempt))).await;
            }
            let answer = if write {
                let headers = [("idempotency-key", key.as_str())];
                user.send(
                    Method::POST,
                    "/api/v1/cities/rome/vehicles",
                    Some(&body),
                    &headers,
                )
                .await
            } else {
                user.get("/api/v1/me/rides").await
            };
            last = answer.status.as_u16();
            if last >= 500 || last == 429 {
                continue;
            }
            assert_eq!(last, if write { 201 } else { 200 }, "{answer:#?}");
            outcome
                .served_by
                .push(answer.header("x-roam-served-by").to_string());
            if write {
                let id = answer.body["id"].as_str().expect("a vehicle id");
                outcome.written.push((id.to_string(), marker.clone()));
            }
            outcome.done += 1;
            break;
        }
        if outcome.done != n + 1 {
            outcome.failed.push((marker, last));
        }
    }
    outcome
}

/// Runs [`CLIENTS`] clients at once, each signed in as its own user in Rome.
async fn load(users: &[User], run: &str, operations: usize) -> Vec<Outcome> {
    let tasks: Vec<_> = users
        .iter()
        .enumerate()
        .map(|(i, user)| tokio::spawn(client(user.clone(), format!("{run}-{i}"), operations)))
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("a client task"));
    }
    outcomes
}

/// How many rows of eu-west's own vehicles partition carry each marker of `written`.
async fn rows_per_marker(stack: &Stack, run: &str) -> Vec<(String, String)> {
    let query =
        format!("SELECT id, brand FROM vehicles_eu_west WHERE brand LIKE '{run}%' ORDER BY brand");
    let out = sql(stack, "eu-west", &query).await;
    out.iter()
        .filter_map(|l| {
            let (id, brand) = l.split_once('|')?;
            Some((id.to_string(), brand.to_string()))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pool_of_two_shares_the_load_and_survives_losing_one_origin() {
    let mut stack = start_stack_with(StackOptions {
        origins_per_region: 2,
        ..StackOptions::for_tests("edge-pool")
    })
    .await;
    assert_eq!(stack.origins_of("eu-west").count(), 2);
    let pools = stack.origin_pools();
    assert_eq!(pools["eu-west"].len(), 2, "{pools:?}");
    let edge = start_edge_with(EdgeOptions::with_pools(
        "pool",
        pools,
        &stack.options.secret,
    ))
    .await;
    let base = edge.url();
    let mut users = Vec::new();
    for i in 0..CLIENTS {
        users.push(User::signed_in(&base, ROME, &format!("pool{i}"), PASSWORD).await);
    }
    let health = eu_west_health(&users[0]).await;
    assert_eq!(
        health["origins"].as_array().map(Vec::len),
        Some(2),
        "{health:#}"
    );
    let run = format!("p{}", uuid_like());
    let (healthy, counts) = both_serve(&stack, &users, &format!("{run}a")).await;
    let outcomes = kill_one_mid_load(&mut stack, &users, &format!("{run}b"), counts[1]).await;

    // The edge absorbed the dead origin's connection errors by retrying within the pool (at
    // least the three that opened its breaker), which is why the clients needed no retry.
    let log = std::fs::read_to_string(edge.options.log_file()).unwrap_or_default();
    let absorbed = log.matches("origin eu-west #1 failed").count();
    eprintln!("connection errors retried on the pool's other origin: {absorbed}");
    assert!(absorbed >= 3, "{absorbed} in-pool retries in the edge log");

    // Every acknowledged write is on eu-west's node exactly once, healthy phase included.
    let mut written: Vec<(String, String)> = healthy
        .iter()
        .chain(&outcomes)
        .flat_map(|o| o.written.clone())
        .collect();
    let mut rows = rows_per_marker(&stack, &run).await;
    rows.sort_by(|a, b| a.1.cmp(&b.1));
    written.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(
        rows.len(),
        written.len(),
        "one row per acknowledged write, none doubled"
    );
    assert_eq!(rows, written, "each write's row is the one acknowledged");

    survivor_takes_over(&stack, &users[0]).await;
    // The whole pool down: now, and only now, Rome fails over to another region.
    stack
        .origins_of_mut("eu-west")
        .next()
        .expect("the first eu-west origin")
        .kill();
    let read = users[0].get("/api/v1/me/rides").await.expect(200);
    assert_eq!(read.header("x-roam-served-by"), "us-east", "{read:#?}");
}

/// A load while the pool is healthy: both origins take a share and nothing fails. Returns
/// the clients' outcomes and eu-west's request counts after it.
async fn both_serve(stack: &Stack, users: &[User], run: &str) -> (Vec<Outcome>, Vec<u64>) {
    let before = eu_west_counts(stack).await;
    let healthy = load(users, run, OPERATIONS).await;
    let after = eu_west_counts(stack).await;
    let served: Vec<u64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
    let total = (CLIENTS * OPERATIONS) as u64;
    eprintln!("healthy pool: {total} operations, per origin {served:?}");
    assert!(
        served.iter().all(|&n| n >= total / 5),
        "both origins take a share of {total}: {served:?}"
    );
    assert!(healthy.iter().all(|o| o.failed.is_empty()), "{healthy:#?}");
    (healthy, after)
}

/// Kills eu-west's second origin in the middle of a load, once it has taken [`KILL_AFTER`]
/// requests beyond `count_before`: no operation fails and the survivor serves everything.
async fn kill_one_mid_load(
    stack: &mut Stack,
    users: &[User],
    run: &str,
    count_before: u64,
) -> Vec<Outcome> {
    let loaded = {
        let (users, run) = (users.to_vec(), run.to_string());
        tokio::spawn(async move { load(&users, &run, OPERATIONS_AROUND_KILL).await })
    };
    let killed_url = stack
        .origins_of("eu-west")
        .nth(1)
        .expect("a second eu-west origin")
        .admin_url();
    // Kill it once it has taken its share of this load (so the load is well under way).
    let mut took_before_kill = 0;
    while took_before_kill < KILL_AFTER && !loaded.is_finished() {
        tokio::time::sleep(Duration::from_millis(20)).await;
        took_before_kill = api_requests(&killed_url).await - count_before;
    }
    stack
        .origins_of_mut("eu-west")
        .nth(1)
        .expect("a second eu-west origin")
        .kill();
    assert!(
        !loaded.is_finished(),
        "the kill lands in the middle of the load"
    );
    let outcomes = loaded.await.expect("the load");
    let retries: u32 = outcomes.iter().map(|o| o.retries).sum();
    let failed: Vec<_> = outcomes.iter().flat_map(|o| o.failed.clone()).collect();
    eprintln!(
        "origin {killed_url} killed mid-load after taking {took_before_kill} requests: \
         {} operations done, {retries} client retries, failed {failed:?}",
        outcomes.iter().map(|o| o.done).sum::<usize>()
    );
    assert!(failed.is_empty(), "no operation is lost: {failed:?}");
    let regions: Vec<&String> = outcomes.iter().flat_map(|o| &o.served_by).collect();
    assert!(
        regions.iter().all(|r| *r == "eu-west"),
        "the pool's survivor served everything, no other region: {regions:?}"
    );
    outcomes
}

/// Traffic has moved to the survivor; the dead origin's breaker is open, the region's not.
async fn survivor_takes_over(stack: &Stack, user: &User) {
    let survivor_url = stack.origin("eu-west").expect("the survivor").admin_url();
    let survivor = api_requests(&survivor_url).await;
    for _ in 0..10 {
        user.get("/api/v1/me/rides").await.expect(200);
    }
    let moved = api_requests(&survivor_url).await - survivor;
    assert!(
        moved >= 10,
        "the survivor took the reads after the kill: {moved}"
    );
    let health = eu_west_health(user).await;
    eprintln!("eu-west after the kill: {health:#}");
    assert_eq!(health["breaker"], "closed", "{health:#}");
    assert_eq!(health["origins"][0]["breaker"], "closed", "{health:#}");
    assert_ne!(health["origins"][1]["breaker"], "closed", "{health:#}");
    let mut open = health["origins"][1]["breaker"] == "open";
    // A probe after the open period re-opens it; within a few seconds it shows open.
    for _ in 0..20 {
        if open {
            break;
        }
        user.get("/api/v1/me/rides").await.expect(200);
        open = eu_west_health(user).await["origins"][1]["breaker"] == "open";
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(open, "the dead origin's breaker shows open");
}
