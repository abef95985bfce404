//! (Long because one outage is one test: its timeline, figures and checks belong together.)
//!
//! eu-west's PostgreSQL node stops in the middle of a bounded mixed load from users in Rome,
//! Los Angeles and New York, and starts again 10 s later. Rome's reads come from stale cache
//! (else 503 + retry-after), Rome's writes are refused with 503 + retry-after, Los Angeles and
//! New York carry on at the same speed, and after the restart every acknowledged write is on
//! its node exactly once.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use roam_e2e::client::{uuid_like, User};
use roam_e2e::ledger::{audit, Ledger};
use roam_e2e::load::{self, percentile, Attempt, Outcome, Plan, NODE_SESSIONS_GONE};
use roam_e2e::place::{LOS_ANGELES, NEW_YORK, ROME};
use roam_e2e::raw::pairs;
use roam_e2e::world::{World, SHORT_CACHE};

const PASSWORD: &str = "fault database password";
const STOP_AT: Duration = Duration::from_secs(6);
const DOWN_FOR: Duration = Duration::from_secs(10);
const LOAD_FOR: Duration = Duration::from_secs(22);
/// Other regions' median latency during the outage may exceed their median before it by at
/// most this factor plus [`P50_SLACK_MS`] (loopback medians are a few ms, so a fixed slack
/// absorbs the noise of a 2-core machine).
const P50_FACTOR: f64 = 2.0;
const P50_SLACK_MS: f64 = 25.0;

/// When the node stopped, began to start again and was started (since the load began), and
/// the status of a read no cache entry could answer meanwhile.
struct Outage {
    stopped_at: Duration,
    restarting_at: Duration,
    restarted_at: Duration,
    uncached: u16,
}

#[tokio::test(flavor = "multi_thread")]
async fn stopping_the_eu_west_node_refuses_rome_writes_and_leaves_other_regions_alone() {
    // Short cache lifetimes: Rome's list goes stale during the outage instead of the test
    // waiting for the defaults.
    let world = World::start_with("fault-database", |o| {
        o.origin_env.extend(pairs(&SHORT_CACHE));
    })
    .await;
    let (rome, rome_probe, la, ny) = tokio::join!(
        world.signed_in(ROME, "db-rome", PASSWORD),
        world.signed_in(ROME, "db-rome-probe", PASSWORD),
        world.signed_in(LOS_ANGELES, "db-la", PASSWORD),
        world.signed_in(NEW_YORK, "db-ny", PASSWORD),
    );
    let run = format!("dbdown{}", uuid_like());
    let patient = Plan {
        run: format!("{run}p"),
        duration: LOAD_FOR,
        interval: Duration::from_millis(200),
        write_every: 2,
        give_up_after: Duration::from_secs(30),
        max_backoff: Duration::from_secs(2),
    };
    // A second Rome user who never retries, so every moment of the outage is sampled.
    let probe = Plan {
        run: format!("{run}q"),
        give_up_after: Duration::ZERO,
        interval: Duration::from_millis(300),
        ..patient.clone()
    };
    // A vehicle nobody has read yet: no cache entry can answer for it.
    let uncached = rome
        .get("/api/v1/cities/rome/vehicles?status=available")
        .await
        .expect(200)
        .body["vehicles"][0]["id"]
        .as_str()
        .expect("a seeded vehicle")
        .to_string();

    let t0 = Instant::now();
    let tasks = load::spawn(
        [
            (rome.clone(), patient.clone()),
            (rome_probe, probe),
            (la, patient.clone()),
            (ny, patient),
        ],
        t0,
    );
    tokio::time::sleep(STOP_AT).await;
    let outage = outage(&world, &rome, &uncached, t0).await;
    let outcome = load::gather(tasks).await;
    let ledger = audit(&world.stack, &run, &outcome.writes).await;
    check(&outcome, &ledger, &outage);
}

/// Stops eu-west's node for [`DOWN_FOR`], reading an uncached vehicle half-way, and starts it.
async fn outage(world: &World, rome: &User, uncached: &str, t0: Instant) -> Outage {
    let node = world.node("eu-west");
    tokio::task::block_in_place(|| node.stop()).expect("eu-west's node stops");
    let stopped_at = t0.elapsed();
    tokio::time::sleep(DOWN_FOR / 2).await;
    let uncached = uncached_read(rome, uncached).await;
    tokio::time::sleep(DOWN_FOR / 2).await;
    // The outage ends when the start begins: the node may accept connections a moment
    // before `pg_ctl start` notices and returns.
    let restarting_at = t0.elapsed();
    tokio::task::block_in_place(|| node.start()).expect("eu-west's node starts");
    Outage {
        stopped_at,
        restarting_at,
        restarted_at: t0.elapsed(),
        uncached,
    }
}

/// Rome during the outage: stale reads or 503s, refused writes; other regions unaffected and
/// as fast; Rome writes again after; nothing lost or doubled.
fn check(outcome: &Outcome, ledger: &Ledger, outage: &Outage) {
    // Rome while the node was surely down.
    let rome_down: Vec<&Attempt> = outcome
        .attempts_while_down(outage.stopped_at, outage.restarting_at)
        .into_iter()
        .filter(|a| a.city == "rome")
        .collect();
    let RomeDown {
        stale,
        writes,
        refused: refused_writes,
        ..
    } = RomeDown::count(&rome_down);
    let medians = Medians::of(outcome, outage);
    let others_failed = outcome
        .attempts
        .iter()
        .filter(|a| a.city != "rome" && !(200..300).contains(&a.status))
        .count();
    let recovered = outcome
        .attempts
        .iter()
        .find(|a| {
            a.city == "rome"
                && a.write
                && a.at >= outage.restarting_at
                && (200..300).contains(&a.status)
        })
        .map(|a| (a.at + a.latency).saturating_sub(outage.restarting_at));
    print_figures(outcome, ledger, outage, &rome_down, &medians, recovered);
    assert!(outcome.attempts.iter().all(|a| a.status != 500), "no 500s");
    for a in &rome_down {
        assert_answered_in_the_outage(a);
    }
    assert!(stale > 0, "Rome's list came from stale cache");
    assert!(
        writes > 0 && refused_writes == writes,
        "Rome's writes are refused"
    );
    assert_eq!(others_failed, 0, "other regions are unaffected");
    medians.assert_unmoved();
    assert!(recovered.is_some(), "Rome writes again after the restart");
    ledger.assert_exactly_once(20);
    ledger.assert_no_refused_write_applied();
    assert!(
        outcome
            .writes
            .iter()
            .filter(|w| w.key.contains("p-"))
            .all(|w| w.acked.is_some()),
        "the patient client got every write through"
    );
}

/// A Rome read during the outage is stale (or a hit) or a 503; a write is a 503; every 503
/// carries retry-after and problem+json.
fn assert_answered_in_the_outage(a: &Attempt) {
    let retry = a.retry_after.is_some_and(|s| s >= 1);
    let problem = a.content_type == "application/problem+json";
    let ok = match (a.write, a.status) {
        (false, 200) => matches!(a.cache.as_str(), "stale" | "hit"),
        (_, 503) => retry && problem,
        _ => false,
    };
    assert!(ok, "Rome during the outage: {a:?}");
}

/// Other regions' median latencies (ms), (read, write), before and during the outage.
struct Medians {
    before: (f64, f64),
    during: (f64, f64),
}

impl Medians {
    fn of(outcome: &Outcome, outage: &Outage) -> Self {
        let p50 = |write: bool, from: Duration, to: Duration| {
            let mut ms: Vec<f64> = outcome
                .attempts
                .iter()
                .filter(|a| a.city != "rome" && a.write == write && a.at >= from && a.at < to)
                .map(|a| a.latency.as_secs_f64() * 1000.0)
                .collect();
            percentile(&mut ms, 50.0)
        };
        let (start, stopped) = (Duration::from_secs(1), outage.stopped_at);
        let settled = stopped + NODE_SESSIONS_GONE;
        Self {
            before: (p50(false, start, stopped), p50(true, start, stopped)),
            during: (
                p50(false, settled, outage.restarting_at),
                p50(true, settled, outage.restarting_at),
            ),
        }
    }

    fn assert_unmoved(&self) {
        let (before, during) = (self.before, self.during);
        assert!(
            during.0 <= before.0 * P50_FACTOR + P50_SLACK_MS
                && during.1 <= before.1 * P50_FACTOR + P50_SLACK_MS,
            "other regions' p50 moved: reads {before:?} → {during:?} (read, write) ms"
        );
    }
}

/// Rome's reads (how many stale) and writes (how many refused 503) during the outage.
struct RomeDown {
    reads: usize,
    stale: usize,
    writes: usize,
    refused: usize,
}

impl RomeDown {
    fn count(rome_down: &[&Attempt]) -> Self {
        let count = |f: &dyn Fn(&Attempt) -> bool| rome_down.iter().filter(|a| f(a)).count();
        Self {
            reads: count(&|a| !a.write),
            stale: count(&|a| !a.write && a.cache == "stale"),
            writes: count(&|a| a.write),
            refused: count(&|a| a.write && a.status == 503),
        }
    }
}

fn print_figures(
    outcome: &Outcome,
    ledger: &Ledger,
    outage: &Outage,
    rome_down: &[&Attempt],
    medians: &Medians,
    recovered: Option<Duration>,
) {
    let RomeDown {
        reads,
        stale,
        writes,
        refused,
    } = RomeDown::count(rome_down);
    let others: Vec<&Attempt> = outcome
        .attempts
        .iter()
        .filter(|a| a.city != "rome")
        .collect();
    let others_failed = others
        .iter()
        .filter(|a| !(200..300).contains(&a.status))
        .count();
    let (before, during) = (medians.before, medians.during);
    eprintln!(
        "FIGURES database-down: rome during outage: {reads} reads ({stale} stale), {writes} writes ({refused} refused 503); \
         rome statuses {:?}; uncached read {}; others: {} attempts, {others_failed} failed, \
         p50 read {:.1}→{:.1} ms, p50 write {:.1}→{:.1} ms; writes {ledger:?}; \
         stopped at {:.1}s, started at {:.1}s (ready {:.1}s), \
         first Rome write acknowledged {recovered:?} after the start",
        statuses(rome_down),
        outage.uncached,
        others.len(),
        before.0,
        during.0,
        before.1,
        during.1,
        outage.stopped_at.as_secs_f64(),
        outage.restarting_at.as_secs_f64(),
        outage.restarted_at.as_secs_f64(),
    );
    for a in outcome.attempts.iter().filter(|a| a.city == "rome") {
        eprintln!(
            "{:>6.2}s {:>5} ms w={} {} {} {} {:?}",
            a.at.as_secs_f64(),
            a.latency.as_millis(),
            a.write,
            a.status,
            a.cache,
            a.served_by,
            a.retry_after
        );
    }
}

/// A read no cache entry can answer: 503 with retry-after (or 504), as problem+json.
async fn uncached_read(user: &User, id: &str) -> u16 {
    let answer = user
        .get(&format!("/api/v1/cities/rome/vehicles/{id}"))
        .await;
    let status = answer.status.as_u16();
    assert!(matches!(status, 503 | 504), "{answer:#?}");
    assert_eq!(answer.header("content-type"), "application/problem+json");
    if status == 503 {
        assert!(
            answer.header("retry-after").parse::<u32>().is_ok(),
            "{answer:#?}"
        );
    }
    status
}

fn statuses(attempts: &[&Attempt]) -> BTreeMap<(bool, u16, String), usize> {
    let mut counts = BTreeMap::new();
    for a in attempts {
        *counts
            .entry((a.write, a.status, a.cache.clone()))
            .or_default() += 1;
    }
    counts
}
