//! The eu-west origin dies (SIGKILL) in the middle of a bounded mixed load from users in Rome,
//! Los Angeles and New York, and comes back 10 s later. Nothing acknowledged is lost or
//! doubled (checked row by row with SQL on the home nodes), reads keep being answered, and the
//! edge's breaker for eu-west opens and closes again.

mod edge_support;
mod fault_support;

use std::time::{Duration, Instant};

use edge_support::{start_edge_for, start_stack, uuid_like, LOS_ANGELES, NEW_YORK, ROME};
use fault_support::load::{self, Outcome, Plan};
use fault_support::{audit, signed_in};

const PASSWORD: &str = "fault origin crash password";
const KILL_AT: Duration = Duration::from_secs(3);
const DOWN_FOR: Duration = Duration::from_secs(10);
/// Long enough for the breaker to open, half-open, maybe re-open once (its open period is
/// 10 s), and close on a successful probe.
const LOAD_FOR: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread")]
async fn killing_the_eu_west_origin_mid_load_loses_and_doubles_nothing() {
    let mut stack = start_stack("fault-origin-crash").await;
    let mut edge = start_edge_for(
        "fault-origin-crash",
        stack.origin_urls(),
        &stack.options.secret,
    )
    .await;
    let base = edge.url();
    let (rome, la, ny) = tokio::join!(
        signed_in(&base, ROME, "crash-rome", PASSWORD),
        signed_in(&base, LOS_ANGELES, "crash-la", PASSWORD),
        signed_in(&base, NEW_YORK, "crash-ny", PASSWORD),
    );
    let plan = Plan {
        run: format!("crash{}", uuid_like()),
        duration: LOAD_FOR,
        interval: Duration::from_millis(200),
        write_every: 2,
        give_up_after: Duration::from_secs(20),
        max_backoff: Duration::from_secs(2),
    };

    let t0 = Instant::now();
    let watcher = tokio::spawn(load::watch_breaker(
        rome.clone(),
        "eu-west",
        t0,
        LOAD_FOR,
        Duration::from_millis(250),
    ));
    let users: Vec<_> = [rome.clone(), la, ny]
        .into_iter()
        .map(|u| tokio::spawn(load::run(u, plan.clone(), t0)))
        .collect();

    tokio::time::sleep(KILL_AT).await;
    let origin = stack.origin_mut("eu-west").expect("an eu-west origin");
    origin.kill();
    let killed_at = t0.elapsed();
    tokio::time::sleep(DOWN_FOR).await;
    origin.restart().await.expect("eu-west's origin restarts");
    let restarted_at = t0.elapsed();

    let mut outcomes = Vec::new();
    for user in users {
        outcomes.push(user.await.expect("a load task"));
    }
    let outcome = Outcome::merge(outcomes);
    let mut breaker = watcher.await.expect("the breaker watcher");

    // If the load ended before a probe closed the breaker, drive one with Rome reads.
    let deadline = Instant::now() + Duration::from_secs(25);
    while breaker.last().is_none_or(|(_, s)| s != "closed") && Instant::now() < deadline {
        rome.get("/api/v1/cities/rome/vehicles?status=unavailable")
            .await;
        let regions = rome.get("/api/v1/regions").await.expect(200);
        let state = regions.body["regions"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["name"] == "eu-west"))
            .and_then(|r| r["breaker"].as_str())
            .unwrap_or("?")
            .to_string();
        breaker.push((t0.elapsed(), state));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let ledger = audit(&stack, &plan.run, &outcome.writes).await;

    // Figures.
    let first_tries: Vec<_> = outcome.attempts.iter().filter(|a| a.number == 1).collect();
    let failed_first = first_tries
        .iter()
        .filter(|a| !(200..300).contains(&a.status))
        .count();
    let rome_during: Vec<_> = outcome
        .attempts
        .iter()
        .filter(|a| a.city == "rome" && a.at >= killed_at && a.at < restarted_at)
        .collect();
    let rome_ok_during = rome_during
        .iter()
        .filter(|a| (200..300).contains(&a.status))
        .count();
    let served_again = outcome
        .attempts
        .iter()
        .find(|a| a.city == "rome" && a.at >= restarted_at && a.served_by == "eu-west")
        .map(|a| a.at + a.latency);
    let opened = breaker
        .iter()
        .find(|(at, s)| *at >= killed_at && s == "open")
        .map(|(at, _)| *at);
    let closed = breaker
        .iter()
        .find(|(at, s)| *at >= restarted_at && s == "closed")
        .map(|(at, _)| *at);
    let served_by_failover = rome_during
        .iter()
        .filter(|a| a.served_by == "us-east")
        .count();
    eprintln!(
        "FIGURES origin-crash: attempts={} first-try errors={} ({:.1}%), statuses={:?}; \
         rome during outage: {} attempts, {} ok, {} served by us-east; \
         writes: {:?}; unanswered reads={}; killed at {:.1}s, restarted at {:.1}s, \
         breaker open at {:?}, closed at {:?}, eu-west serving Rome again {:?} after restart",
        outcome.attempts.len(),
        failed_first,
        100.0 * failed_first as f64 / first_tries.len().max(1) as f64,
        status_counts(&outcome),
        rome_during.len(),
        rome_ok_during,
        served_by_failover,
        ledger,
        outcome.unanswered_reads,
        killed_at.as_secs_f64(),
        restarted_at.as_secs_f64(),
        opened,
        closed,
        served_again.map(|at| at.saturating_sub(restarted_at)),
    );

    assert!(
        outcome.attempts.iter().all(|a| a.status != 500),
        "no 500s: {:?}",
        status_counts(&outcome)
    );
    assert!(ledger.acknowledged > 20, "the load wrote: {ledger:?}");
    assert_eq!(ledger.lost, 0, "nothing acknowledged is lost: {ledger:?}");
    assert_eq!(ledger.doubled, 0, "nothing is doubled: {ledger:?}");
    assert_eq!(ledger.mismatched, 0, "{ledger:?}");
    assert_eq!(
        ledger.abandoned, 0,
        "every write got through with retries: {ledger:?}"
    );
    assert_eq!(outcome.unanswered_reads, 0, "every read was answered");
    assert!(
        rome_ok_during * 10 >= rome_during.len() * 9,
        "Rome kept being served while its origin was down: {rome_ok_during}/{}",
        rome_during.len()
    );
    assert!(served_by_failover > 0, "another origin stood in");
    assert!(opened.is_some(), "the breaker opened: {breaker:?}");
    assert!(closed.is_some(), "the breaker closed again: {breaker:?}");
    assert!(served_again.is_some(), "eu-west serves Rome again");
    let log = std::fs::read_to_string(edge.options.log_file()).unwrap_or_default();
    assert!(
        log.lines()
            .any(|l| l.contains("origin eu-west") && l.contains("failed")),
        "the edge logged the failures"
    );
    edge.stop();
}

fn status_counts(outcome: &Outcome) -> std::collections::BTreeMap<u16, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for a in &outcome.attempts {
        *counts.entry(a.status).or_default() += 1;
    }
    counts
}
