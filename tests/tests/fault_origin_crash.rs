//! The eu-west origin dies (SIGKILL) in the middle of a bounded mixed load from users in Rome,
//! Los Angeles and New York, and comes back 10 s later. Nothing acknowledged is lost or
//! doubled (checked row by row with SQL on the home nodes), reads keep being answered, and the
//! edge's breaker for eu-west opens and closes again.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use roam_e2e::client::{uuid_like, User};
use roam_e2e::ledger::{audit, Ledger};
use roam_e2e::load::{self, Outcome, Plan};
use roam_e2e::place::{LOS_ANGELES, NEW_YORK, ROME};
use roam_e2e::world::World;

const PASSWORD: &str = "fault origin crash password";
const KILL_AT: Duration = Duration::from_secs(3);
const DOWN_FOR: Duration = Duration::from_secs(10);
/// Long enough for the breaker to open, half-open, maybe re-open once (its open period is
/// 10 s), and close on a successful probe.
const LOAD_FOR: Duration = Duration::from_secs(20);

/// The breaker's states as sampled: (time since the load began, state).
type Breaker = Vec<(Duration, String)>;

#[tokio::test(flavor = "multi_thread")]
async fn killing_the_eu_west_origin_mid_load_loses_and_doubles_nothing() {
    let mut world = World::start("fault-origin-crash").await;
    let (rome, la, ny) = tokio::join!(
        world.signed_in(ROME, "crash-rome", PASSWORD),
        world.signed_in(LOS_ANGELES, "crash-la", PASSWORD),
        world.signed_in(NEW_YORK, "crash-ny", PASSWORD),
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
    let users = load::spawn([rome.clone(), la, ny].map(|u| (u, plan.clone())), t0);

    tokio::time::sleep(KILL_AT).await;
    let origin = world
        .stack
        .origin_mut("eu-west")
        .expect("an eu-west origin");
    origin.kill();
    let killed_at = t0.elapsed();
    tokio::time::sleep(DOWN_FOR).await;
    origin.restart().await.expect("eu-west's origin restarts");
    let restarted_at = t0.elapsed();

    let outcome = load::gather(users).await;
    let mut breaker = watcher.await.expect("the breaker watcher");
    drive_until_closed(&rome, &mut breaker, t0).await;
    let ledger = audit(&world.stack, &plan.run, &outcome.writes).await;
    let seen = Seen::of(&outcome, &breaker, killed_at, restarted_at);
    print_figures(&outcome, &ledger, &seen);
    check(&outcome, &ledger, &seen, &breaker);
    let log = std::fs::read_to_string(world.edge.options.log_file()).unwrap_or_default();
    assert!(
        log.lines()
            .any(|l| l.contains("origin eu-west") && l.contains("failed")),
        "the edge logged the failures"
    );
}

/// If the load ended before a probe closed the breaker, drives one with Rome reads (25 s at
/// most), sampling the breaker.
async fn drive_until_closed(rome: &User, breaker: &mut Breaker, t0: Instant) {
    let deadline = Instant::now() + Duration::from_secs(25);
    while breaker.last().is_none_or(|(_, s)| s != "closed") && Instant::now() < deadline {
        rome.get("/api/v1/cities/rome/vehicles?status=unavailable")
            .await;
        let regions = rome.get("/api/v1/regions").await.expect(200);
        breaker.push((t0.elapsed(), load::breaker(&regions.body, "eu-west")));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// What the load and the breaker samples show about the crash.
struct Seen {
    killed_at: Duration,
    restarted_at: Duration,
    /// Rome's attempts while its origin was down, and how many got a 2xx.
    rome_during: usize,
    rome_ok_during: usize,
    /// Of those, how many another origin served.
    served_by_failover: usize,
    /// When eu-west served Rome again, since the load began.
    served_again: Option<Duration>,
    /// When the breaker was first seen open after the kill, and closed after the restart.
    opened: Option<Duration>,
    closed: Option<Duration>,
}

impl Seen {
    fn of(
        outcome: &Outcome,
        breaker: &Breaker,
        killed_at: Duration,
        restarted_at: Duration,
    ) -> Self {
        let rome_during: Vec<_> = outcome
            .attempts
            .iter()
            .filter(|a| a.city == "rome" && a.at >= killed_at && a.at < restarted_at)
            .collect();
        let first_seen = |from: Duration, state: &str| {
            breaker
                .iter()
                .find(|(at, s)| *at >= from && s == state)
                .map(|(at, _)| *at)
        };
        Self {
            killed_at,
            restarted_at,
            rome_during: rome_during.len(),
            rome_ok_during: rome_during
                .iter()
                .filter(|a| (200..300).contains(&a.status))
                .count(),
            served_by_failover: rome_during
                .iter()
                .filter(|a| a.served_by == "us-east")
                .count(),
            served_again: outcome
                .attempts
                .iter()
                .find(|a| a.city == "rome" && a.at >= restarted_at && a.served_by == "eu-west")
                .map(|a| a.at + a.latency),
            opened: first_seen(killed_at, "open"),
            closed: first_seen(restarted_at, "closed"),
        }
    }
}

fn print_figures(outcome: &Outcome, ledger: &Ledger, seen: &Seen) {
    let first_tries: Vec<_> = outcome.attempts.iter().filter(|a| a.number == 1).collect();
    let failed_first = first_tries
        .iter()
        .filter(|a| !(200..300).contains(&a.status))
        .count();
    eprintln!(
        "FIGURES origin-crash: attempts={} first-try errors={} ({:.1}%), statuses={:?}; \
         rome during outage: {} attempts, {} ok, {} served by us-east; \
         writes: {:?}; unanswered reads={}; killed at {:.1}s, restarted at {:.1}s, \
         breaker open at {:?}, closed at {:?}, eu-west serving Rome again {:?} after restart",
        outcome.attempts.len(),
        failed_first,
        100.0 * failed_first as f64 / first_tries.len().max(1) as f64,
        status_counts(outcome),
        seen.rome_during,
        seen.rome_ok_during,
        seen.served_by_failover,
        ledger,
        outcome.unanswered_reads,
        seen.killed_at.as_secs_f64(),
        seen.restarted_at.as_secs_f64(),
        seen.opened,
        seen.closed,
        seen.served_again
            .map(|at| at.saturating_sub(seen.restarted_at)),
    );
}

/// No 500s; every write went through exactly once and every read was answered; Rome was
/// served (by another origin) while eu-west was down; the breaker opened and closed again.
fn check(outcome: &Outcome, ledger: &Ledger, seen: &Seen, breaker: &Breaker) {
    assert!(
        outcome.attempts.iter().all(|a| a.status != 500),
        "no 500s: {:?}",
        status_counts(outcome)
    );
    ledger.assert_exactly_once(20);
    assert_eq!(
        ledger.abandoned, 0,
        "every write got through with retries: {ledger:?}"
    );
    assert_eq!(outcome.unanswered_reads, 0, "every read was answered");
    assert!(
        seen.rome_ok_during * 10 >= seen.rome_during * 9,
        "Rome kept being served while its origin was down: {}/{}",
        seen.rome_ok_during,
        seen.rome_during
    );
    assert!(seen.served_by_failover > 0, "another origin stood in");
    assert!(seen.opened.is_some(), "the breaker opened: {breaker:?}");
    assert!(
        seen.closed.is_some(),
        "the breaker closed again: {breaker:?}"
    );
    assert!(seen.served_again.is_some(), "eu-west serves Rome again");
}

fn status_counts(outcome: &Outcome) -> BTreeMap<u16, usize> {
    let mut counts = BTreeMap::new();
    for a in &outcome.attempts {
        *counts.entry(a.status).or_default() += 1;
    }
    counts
}
