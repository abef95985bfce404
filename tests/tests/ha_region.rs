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

use std::time::{Duration, Instant};

use roam_e2e::client::uuid_like;
use roam_e2e::ledger::audit;
use roam_e2e::load::{self, Plan};
use roam_e2e::place::ROME;
use roam_e2e::raw::pairs;
use roam_e2e::world::{World, SHORT_CACHE};
use roam_stack::pg::psql;
use roam_stack::HaOptions;

const PASSWORD: &str = "ha region password";

/// A stack whose eu-west runs under pg_auto_failover (short cache lifetimes, as in
/// fault_database.rs), and an edge in front of it.
async fn start(name: &str) -> World {
    World::start_with(name, |options| {
        options.ha = Some(HaOptions::regions(&["eu-west"]));
        options.origin_env.extend(pairs(&SHORT_CACHE));
    })
    .await
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

/// When (since the load began) the standby died and was back, and both nodes died and began
/// to come back.
struct Kills {
    standby_killed: Duration,
    standby_back: Duration,
    both_killed: Duration,
    restarting: Duration,
}

#[tokio::test(flavor = "multi_thread")]
async fn rome_survives_its_standby_and_reads_stale_when_both_nodes_die() {
    let mut world = start("ha-region").await;
    let writer = world.signed_in(ROME, "ha-writer", PASSWORD).await;
    let reader = world.user(ROME);
    let run = format!("hastandby{}", uuid_like());
    let (writes, reads) = plans(&run, Duration::from_secs(34));
    let t0 = Instant::now();
    let tasks = load::spawn([(writer, writes), (reader, reads)], t0);
    let kills = kill_the_standby_then_both(&mut world, t0).await;
    let outcome = load::gather(tasks).await;
    let ledger = audit(&world.stack, &run, &outcome.writes).await;

    // Standby down (until it is back): Rome reads and writes are all answered in the end.
    let standby_down = outcome.attempts_between(kills.standby_killed, kills.standby_back);
    let standby_writes = standby_down
        .iter()
        .filter(|a| a.write && a.status == 201)
        .count();
    // Both down (settled, until a second before the restart): stale reads, refused writes.
    // Settled means past the fresh life (s-maxage, 1 s) of a copy stored just before the kill:
    // until then a hit is the right answer (a run on a loaded machine saw one 0.5 s after it).
    let dark = outcome.attempts_between(
        kills.both_killed + Duration::from_millis(1500),
        kills.restarting.saturating_sub(Duration::from_secs(1)),
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
        (kills.standby_back - kills.standby_killed).as_secs_f64(),
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
    ledger.assert_exactly_once(10);
}

/// The standby dies at 3 s and comes back (it takes a few seconds to rejoin), the region's
/// readiness saying so meanwhile; 2 s later both nodes die at once, for 8 s, and come back
/// with the same primary.
async fn kill_the_standby_then_both(world: &mut World, t0: Instant) -> Kills {
    let admin = world
        .stack
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
    let group = world.stack.group_mut("eu-west").expect("an eu-west group");
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
    Kills {
        standby_killed,
        standby_back,
        both_killed,
        restarting,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rome_writes_again_within_seconds_of_losing_its_primary() {
    let mut world = start("ha-primary-e2e").await;
    let writer = world.signed_in(ROME, "ha-primary-writer", PASSWORD).await;
    let reader = world.user(ROME);
    let run = format!("haprimary{}", uuid_like());
    let (writes, reads) = plans(&run, Duration::from_secs(25));
    let t0 = Instant::now();
    let tasks = load::spawn([(writer, writes), (reader, reads)], t0);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let group = world.stack.group_mut("eu-west").expect("an eu-west group");
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

    let outcome = load::gather(tasks).await;
    let ledger = audit(&world.stack, &run, &outcome.writes).await;
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
    ledger.assert_exactly_once(10);
}
