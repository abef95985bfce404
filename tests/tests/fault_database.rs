//! eu-west's PostgreSQL node stops in the middle of a bounded mixed load from users in Rome,
//! Los Angeles and New York, and starts again 10 s later. Rome's reads come from stale cache
//! (else 503 + retry-after), Rome's writes are refused with 503 + retry-after, Los Angeles and
//! New York carry on at the same speed, and after the restart every acknowledged write is on
//! its node exactly once.

mod edge_support;
mod fault_support;

use std::time::{Duration, Instant};

use edge_support::{start_edge_for, uuid_like, User, LOS_ANGELES, NEW_YORK, ROME};
use fault_support::load::{self, Attempt, Outcome, Plan};
use fault_support::{audit, percentile, signed_in, start_stack_with};

const PASSWORD: &str = "fault database password";
const STOP_AT: Duration = Duration::from_secs(6);
const DOWN_FOR: Duration = Duration::from_secs(10);
const LOAD_FOR: Duration = Duration::from_secs(22);
/// Other regions' median latency during the outage may exceed their median before it by at
/// most this factor plus [`P50_SLACK_MS`] (loopback medians are a few ms, so a fixed slack
/// absorbs the noise of a 2-core machine).
const P50_FACTOR: f64 = 2.0;
const P50_SLACK_MS: f64 = 25.0;

#[tokio::test(flavor = "multi_thread")]
async fn stopping_the_eu_west_node_refuses_rome_writes_and_leaves_other_regions_alone() {
    // 1 s fresh, 1 s stale-while-revalidate, 300 s stale-if-error: Rome's list goes stale
    // during the outage instead of the test waiting for the defaults.
    let stack = start_stack_with(
        "fault-database",
        &[
            ("ROAM_CACHE_S_MAXAGE", "1"),
            ("ROAM_CACHE_SWR", "1"),
            ("ROAM_CACHE_SIE", "300"),
        ],
    )
    .await;
    let mut edge =
        start_edge_for("fault-database", stack.origin_urls(), &stack.options.secret).await;
    let base = edge.url();
    let (rome, rome_probe, la, ny) = tokio::join!(
        signed_in(&base, ROME, "db-rome", PASSWORD),
        signed_in(&base, ROME, "db-rome-probe", PASSWORD),
        signed_in(&base, LOS_ANGELES, "db-la", PASSWORD),
        signed_in(&base, NEW_YORK, "db-ny", PASSWORD),
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
    let tasks: Vec<_> = [
        (rome.clone(), patient.clone()),
        (rome_probe, probe),
        (la, patient.clone()),
        (ny, patient.clone()),
    ]
    .into_iter()
    .map(|(u, p)| tokio::spawn(load::run(u, p, t0)))
    .collect();

    tokio::time::sleep(STOP_AT).await;
    let node = stack
        .cluster
        .node("eu-west")
        .expect("an eu-west node")
        .clone();
    tokio::task::block_in_place(|| node.stop()).expect("eu-west's node stops");
    let stopped_at = t0.elapsed();
    tokio::time::sleep(DOWN_FOR / 2).await;
    let one = uncached_read(&rome, &uncached).await;
    tokio::time::sleep(DOWN_FOR / 2).await;
    // The outage ends when the start begins: the node may accept connections a moment
    // before `pg_ctl start` notices and returns.
    let restarting_at = t0.elapsed();
    tokio::task::block_in_place(|| node.start()).expect("eu-west's node starts");
    let restarted_at = t0.elapsed();

    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("a load task"));
    }
    let outcome = Outcome::merge(outcomes);
    let ledger = audit(&stack, &run, &outcome.writes).await;

    // Rome during the outage (after the node's sessions are surely gone, and a second short
    // of the restart: on a loaded 2-core machine a read that ended just before the start was
    // recorded was once served by the node already coming up).
    let settled = stopped_at + Duration::from_millis(500);
    let outage_ends = restarting_at.saturating_sub(Duration::from_secs(1));
    let rome_down: Vec<&Attempt> = outcome
        .attempts
        .iter()
        .filter(|a| a.city == "rome" && a.at >= settled && a.at + a.latency < outage_ends)
        .collect();
    let reads: Vec<&&Attempt> = rome_down.iter().filter(|a| !a.write).collect();
    let writes: Vec<&&Attempt> = rome_down.iter().filter(|a| a.write).collect();
    let stale = reads.iter().filter(|a| a.cache == "stale").count();
    let refused_writes = writes.iter().filter(|a| a.status == 503).count();
    // Other regions: medians before and during the outage.
    let p50 = |write: bool, from: Duration, to: Duration| {
        let mut ms: Vec<f64> = outcome
            .attempts
            .iter()
            .filter(|a| a.city != "rome" && a.write == write && a.at >= from && a.at < to)
            .map(|a| a.latency.as_secs_f64() * 1000.0)
            .collect();
        percentile(&mut ms, 50.0)
    };
    let before = (
        p50(false, Duration::from_secs(1), stopped_at),
        p50(true, Duration::from_secs(1), stopped_at),
    );
    let during = (
        p50(false, settled, restarting_at),
        p50(true, settled, restarting_at),
    );
    let others_failed = outcome
        .attempts
        .iter()
        .filter(|a| a.city != "rome" && !(200..300).contains(&a.status))
        .count();
    let recovered = outcome
        .attempts
        .iter()
        .find(|a| {
            a.city == "rome" && a.write && a.at >= restarting_at && (200..300).contains(&a.status)
        })
        .map(|a| (a.at + a.latency).saturating_sub(restarting_at));
    eprintln!(
        "FIGURES database-down: rome during outage: {} reads ({} stale), {} writes ({} refused 503); \
         rome statuses {:?}; uncached read {}; others: {} attempts, {} failed, \
         p50 read {:.1}→{:.1} ms, p50 write {:.1}→{:.1} ms; writes {:?}; \
         stopped at {:.1}s, started at {:.1}s (ready {:.1}s), \
         first Rome write acknowledged {:?} after the start",
        reads.len(),
        stale,
        writes.len(),
        refused_writes,
        statuses(&rome_down),
        one,
        outcome.attempts.iter().filter(|a| a.city != "rome").count(),
        others_failed,
        before.0,
        during.0,
        before.1,
        during.1,
        ledger,
        stopped_at.as_secs_f64(),
        restarting_at.as_secs_f64(),
        restarted_at.as_secs_f64(),
        recovered,
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
    assert!(outcome.attempts.iter().all(|a| a.status != 500), "no 500s");
    for a in &rome_down {
        let retry = a.retry_after.is_some_and(|s| s >= 1);
        let problem = a.content_type == "application/problem+json";
        let ok = match (a.write, a.status) {
            (false, 200) => matches!(a.cache.as_str(), "stale" | "hit"),
            (false, 503) | (true, 503) => retry && problem,
            _ => false,
        };
        assert!(ok, "Rome during the outage: {a:?}");
    }
    assert!(stale > 0, "Rome's list came from stale cache");
    assert!(
        !writes.is_empty() && refused_writes == writes.len(),
        "Rome's writes are refused"
    );
    assert_eq!(others_failed, 0, "other regions are unaffected");
    assert!(
        during.0 <= before.0 * P50_FACTOR + P50_SLACK_MS
            && during.1 <= before.1 * P50_FACTOR + P50_SLACK_MS,
        "other regions' p50 moved: reads {before:?} → {during:?} (read, write) ms"
    );
    assert!(recovered.is_some(), "Rome writes again after the restart");
    assert!(ledger.acknowledged > 20, "{ledger:?}");
    assert_eq!(ledger.lost, 0, "nothing acknowledged is lost: {ledger:?}");
    assert_eq!(ledger.doubled, 0, "nothing is doubled: {ledger:?}");
    assert_eq!(ledger.mismatched, 0, "{ledger:?}");
    assert_eq!(
        ledger.abandoned_applied, 0,
        "a refused write had no effect: {ledger:?}"
    );
    assert!(
        outcome
            .writes
            .iter()
            .filter(|w| w.key.contains("p-"))
            .all(|w| w.acked.is_some()),
        "the patient client got every write through"
    );
    edge.stop();
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

fn statuses(attempts: &[&Attempt]) -> std::collections::BTreeMap<(bool, u16, String), usize> {
    let mut counts = std::collections::BTreeMap::new();
    for a in attempts {
        *counts
            .entry((a.write, a.status, a.cache.clone()))
            .or_default() += 1;
    }
    counts
}
