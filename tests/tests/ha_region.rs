//! eu-west under pg_auto_failover (a primary, a synchronous standby, a monitor), through the
//! edge and the origins, as users in Rome: a patient writer and an anonymous reader.
//!
//! - the standby dies: Rome keeps writing (after the monitor's pause) and reading;
//! - both nodes die: reads come from stale cache, writes get 503 + `retry-after`;
//! - the primary dies: the standby takes
//!   over, Rome writes again within seconds, the old primary comes back as the standby and
//!   refuses a write.
//!
//! Every acknowledged write is on the region's primary exactly once afterwards.

mod edge_support;
mod fault_support;

use std::time::{Duration, Instant};

use edge_support::{start_edge_for, uuid_like, User, ROME};
use fault_support::load::{self, Attempt, Outcome, Plan};
use fault_support::{audit, pairs, signed_in, Ledger};
use roam_stack::edge::{reap_group_when_gone, EdgeProcess};
use roam_stack::pg::psql;
use roam_stack::{HaOptions, Stack, StackOptions};

const PASSWORD: &str = "ha region password";

/// A stack whose eu-west runs under pg_auto_failover, and an edge in front of it.
async fn start(name: &str) -> (Stack, EdgeProcess) {
    let mut options = StackOptions {
        ha: Some(HaOptions::regions(&["eu-west"])),
        ..StackOptions::for_tests(name)
    };
    // 1 s fresh, 1 s stale-while-revalidate, 300 s stale-if-error (fault_database.rs).
    options.origin_env.extend(pairs(&[
        ("ROAM_CACHE_S_MAXAGE", "1"),
        ("ROAM_CACHE_SWR", "1"),
        ("ROAM_CACHE_SIE", "300"),
    ]));
    let stack = match Stack::start(options).await {
        Ok(stack) => stack,
        Err(e) => panic!("could not start the stack: {e:#}"),
    };
    for pgid in stack.origins.iter().filter_map(|o| o.pid()) {
        reap_group_when_gone(std::process::id(), pgid, None).expect("an origin reaper");
    }
    let edge = start_edge_for(name, stack.origin_urls(), &stack.options.secret).await;
    (stack, edge)
}

/// The origin's `/readyz` (on its admin listener) once `holds`, within 15 s (it is checked
/// every second in the background).
async fn region_health(
    admin: &str,
    holds: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let body = reqwest::get(format!("{admin}/readyz"))
            .await
            .expect("the admin listener");
        let health: serde_json::Value = body.json().await.unwrap_or_default();
        if holds(&health) || Instant::now() > deadline {
            return health;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A patient writer (retries with its key) and an anonymous reader who never retries.
fn plans(run: &str, duration: Duration) -> (Plan, Plan) {
    let writer = Plan {
        run: run.to_string(),
        duration,
        interval: Duration::from_millis(250),
        write_every: 1,
        give_up_after: Duration::from_secs(40),
        max_backoff: Duration::from_secs(1),
    };
    let reader = Plan {
        write_every: 0,
        give_up_after: Duration::ZERO,
        ..writer.clone()
    };
    (writer, reader)
}

fn attempts_between(outcome: &Outcome, from: Duration, to: Duration) -> Vec<&Attempt> {
    outcome
        .attempts
        .iter()
        .filter(|a| a.at >= from && a.at + a.latency < to)
        .collect()
}

fn assert_exactly_once(ledger: &Ledger) {
    assert!(ledger.acknowledged > 10, "{ledger:?}");
    assert_eq!(ledger.lost, 0, "nothing acknowledged is lost: {ledger:?}");
    assert_eq!(ledger.doubled, 0, "nothing is doubled: {ledger:?}");
    assert_eq!(ledger.mismatched, 0, "{ledger:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn rome_survives_its_standby_and_reads_stale_when_both_nodes_die() {
    let (mut stack, mut edge) = start("ha-region").await;
    let base = edge.url();
    let writer = signed_in(&base, ROME, "ha-writer", PASSWORD).await;
    let reader = User::new(&base, ROME);
    let run = format!("hastandby{}", uuid_like());
    let (writes, reads) = plans(&run, Duration::from_secs(34));
    let t0 = Instant::now();
    let tasks: Vec<_> = [(writer, writes), (reader, reads)]
        .into_iter()
        .map(|(user, plan)| tokio::spawn(load::run(user, plan, t0)))
        .collect();

    // The standby dies at 3 s and comes back (it takes a few seconds to rejoin). Meanwhile the
    // region's readiness says so.
    let admin = stack
        .origin("eu-west")
        .expect("an eu-west origin")
        .admin_url();
    let streaming = |h: &serde_json::Value| h["health"]["standbys"][0]["state"] == "streaming";
    let healthy = region_health(&admin, |h| h["health"]["status"] == "ok" && streaming(h)).await;
    assert_eq!(healthy["health"]["status"], "ok", "{healthy}");
    assert!(
        healthy["health"]["standbys"][0]["lag_bytes"].is_i64(),
        "{healthy}"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let group = stack.group_mut("eu-west").expect("an eu-west group");
    let standby = group.standby().await.expect("a standby").name.clone();
    let primary = group.primary().await.expect("a primary").name.clone();
    group.kill(&standby).expect("kill the standby");
    let standby_killed = t0.elapsed();
    let degraded = region_health(&admin, |h| h["health"]["status"] == "degraded").await;
    assert_eq!(degraded["health"]["status"], "degraded", "{degraded}");
    assert_eq!(degraded["ready"], true, "degraded still serves: {degraded}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let back = group.restart(&standby).await.expect("the standby rejoins");
    assert!(back.is_secondary(), "{back:?}");
    let standby_back = t0.elapsed();

    // Both die at once, for 8 s.
    tokio::time::sleep(Duration::from_secs(2)).await;
    group.kill(&primary).expect("kill the primary");
    group.kill(&standby).expect("kill the standby");
    let both_killed = t0.elapsed();
    tokio::time::sleep(Duration::from_secs(8)).await;
    let restarting = t0.elapsed();
    let first = group
        .restart(&primary)
        .await
        .expect("the primary comes back");
    assert!(
        first.is_primary(),
        "nobody took over, so it is primary again: {first:?}"
    );
    group
        .restart(&standby)
        .await
        .expect("the standby comes back");

    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("a load task"));
    }
    let outcome = Outcome::merge(outcomes);
    let ledger = audit(&stack, &run, &outcome.writes).await;

    // Standby down (until it is back): Rome reads and writes are all answered in the end.
    let standby_down = attempts_between(&outcome, standby_killed, standby_back);
    let standby_writes = standby_down
        .iter()
        .filter(|a| a.write && a.status == 201)
        .count();
    // Both down (settled, until a second before the restart): stale reads, refused writes.
    // Settled means past the fresh life (s-maxage, 1 s) of a copy stored just before the kill:
    // until then a hit is the right answer (a run on a loaded machine saw one 0.5 s after it).
    let dark = attempts_between(
        &outcome,
        both_killed + Duration::from_millis(1500),
        restarting.saturating_sub(Duration::from_secs(1)),
    );
    let dark_reads: Vec<_> = dark.iter().filter(|a| !a.write).collect();
    let stale = dark_reads
        .iter()
        .filter(|a| a.status == 200 && a.cache == "stale")
        .count();
    let refused = dark.iter().filter(|a| a.write && a.status == 503).count();
    eprintln!(
        "FIGURES ha region: standby down {:.1} s: {standby_writes} Rome writes acknowledged; \
         both nodes down: {} reads ({stale} stale), {refused} writes refused 503; writes {ledger:?}",
        (standby_back - standby_killed).as_secs_f64(),
        dark_reads.len(),
    );
    assert!(standby_writes > 0, "Rome wrote while its standby was down");
    assert!(
        !dark_reads.is_empty() && stale == dark_reads.len(),
        "{dark:?}"
    );
    for a in dark.iter().filter(|a| a.write) {
        let ok = a.status == 503 && a.retry_after.is_some_and(|s| s >= 1);
        assert!(ok, "a write while both nodes are down: {a:?}");
    }
    assert!(outcome.attempts.iter().all(|a| a.status != 500), "no 500s");
    assert!(
        outcome.writes.iter().all(|w| w.acked.is_some()),
        "the patient writer got every write through"
    );
    assert_exactly_once(&ledger);
    edge.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn rome_writes_again_within_seconds_of_losing_its_primary() {
    let (mut stack, mut edge) = start("ha-primary-e2e").await;
    let base = edge.url();
    let writer = signed_in(&base, ROME, "ha-primary-writer", PASSWORD).await;
    let reader = User::new(&base, ROME);
    let run = format!("haprimary{}", uuid_like());
    let (writes, reads) = plans(&run, Duration::from_secs(25));
    let t0 = Instant::now();
    let tasks: Vec<_> = [(writer, writes), (reader, reads)]
        .into_iter()
        .map(|(user, plan)| tokio::spawn(load::run(user, plan, t0)))
        .collect();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let group = stack.group_mut("eu-west").expect("an eu-west group");
    let old = group.primary().await.expect("a primary").name.clone();
    group.kill(&old).expect("kill the primary");
    let killed = t0.elapsed();
    tokio::time::sleep(Duration::from_secs(15)).await;
    let back = group.restart(&old).await.expect("the old primary rejoins");
    assert!(back.is_secondary(), "{back:?}");
    let refused = psql(
        &group.node(&old).expect("the old primary").url("roam"),
        "DELETE FROM vehicles WHERE false".into(),
    )
    .await;
    assert!(
        refused.is_err_and(|e| format!("{e:#}").contains("read-only transaction")),
        "the old primary refuses writes"
    );

    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("a load task"));
    }
    let outcome = Outcome::merge(outcomes);
    let ledger = audit(&stack, &run, &outcome.writes).await;
    let first_write = outcome
        .writes
        .iter()
        .filter_map(|w| w.acked_at)
        .filter(|at| *at > killed)
        .min()
        .map(|at| at - killed);
    eprintln!("FIGURES ha primary through the edge: first Rome write {first_write:?} after the kill; writes {ledger:?}");
    assert!(
        first_write.is_some_and(|d| d < Duration::from_secs(60)),
        "{first_write:?}"
    );
    assert!(outcome.attempts.iter().all(|a| a.status != 500), "no 500s");
    assert_exactly_once(&ledger);
    edge.stop();
}
