//! Soft purge: a list that was being written to when its region's database went down is still
//! answered. Three users add vehicles in Rome and a fourth, anonymous, lists Rome's vehicles;
//! eu-west's node stops for 10 s. When each write deleted the list from the PoP's cache, none
//! of the reader's lists were answered during the outage (0 of 9); now a write only marks the
//! entries it affects as superseded, so the reader, who has no bookmark, gets the last copy
//! (`x-roam-cache: stale`), while a writer who presents its fresh bookmark gets 503 +
//! `retry-after`, never an answer older than its own write. Once the node is back, the
//! superseded entry is refreshed from the origin as before.

use std::time::{Duration, Instant};

use roam_e2e::client::{uuid_like, Answer, User};
use roam_e2e::ledger::{audit, Ledger};
use roam_e2e::load::{self, Attempt, Outcome, Plan};
use roam_e2e::place::ROME;
use roam_e2e::raw::pairs;
use roam_e2e::world::{World, SHORT_CACHE};

const PASSWORD: &str = "soft purge password";
const STOP_AT: Duration = Duration::from_secs(5);
const DOWN_FOR: Duration = Duration::from_secs(10);
const LOAD_FOR: Duration = Duration::from_secs(18);
/// The list only the bookmark holder reads, so nobody else refreshes its entry.
const AVAILABLE: &str = "/api/v1/cities/rome/vehicles?status=available";
/// Share of the reader's lists that must be answered during the outage.
const ANSWERED_AT_LEAST: f64 = 0.99;

#[tokio::test(flavor = "multi_thread")]
async fn a_list_written_to_when_its_region_dies_is_still_answered_stale() {
    let world = World::start_with("soft-purge", |o| o.origin_env.extend(pairs(&SHORT_CACHE))).await;
    let (w1, w2, w3, holder) = tokio::join!(
        world.signed_in(ROME, "purge-w1", PASSWORD),
        world.signed_in(ROME, "purge-w2", PASSWORD),
        world.signed_in(ROME, "purge-w3", PASSWORD),
        world.signed_in(ROME, "purge-holder", PASSWORD),
    );
    let reader = world.user(ROME);
    let run = format!("purge{}", uuid_like());
    // Nobody retries: every moment of the outage is sampled, and a refused write stays refused.
    let writes = Plan {
        run: run.clone(),
        duration: LOAD_FOR,
        interval: Duration::from_millis(300),
        write_every: 1,
        give_up_after: Duration::ZERO,
        max_backoff: Duration::from_secs(1),
    };
    let reads = Plan {
        write_every: 0,
        interval: Duration::from_millis(250),
        ..writes.clone()
    };
    // The holder's list is in the cache before its write supersedes it.
    holder.get(AVAILABLE).await.expect(200);

    let t0 = Instant::now();
    // Each writer its own keys (a key is also the vehicle's location, which SQL finds by `run`).
    let writer = |suffix: &str| Plan {
        run: format!("{run}{suffix}"),
        ..writes.clone()
    };
    let tasks = load::spawn(
        [
            (w1, writer("a")),
            (w2, writer("b")),
            (w3, writer("c")),
            (reader.clone(), reads),
        ],
        t0,
    );
    tokio::time::sleep(STOP_AT).await;
    let outage = outage(&world, &holder, &reader, &run, t0).await;
    let outcome = load::gather(tasks).await;
    let ledger = audit(&world.stack, &run, &outcome.writes).await;
    check(&outcome, &ledger, &outage);
}

/// When the node stopped and began to start again (since the load began), and how long after
/// that the holder's list named its vehicle.
struct Outage {
    stopped_at: Duration,
    restarting_at: Duration,
    refreshed: Duration,
}

/// The holder writes, eu-west's node stops for [`DOWN_FOR`]: meanwhile the holder (with its
/// bookmark) gets 503 + retry-after and anyone else the stale copy; after the restart the
/// holder's list is refreshed.
async fn outage(world: &World, holder: &User, reader: &User, run: &str, t0: Instant) -> Outage {
    let added = holder.add_bike("rome", &format!("{run}-holder")).await;
    let node = world.node("eu-west");
    tokio::task::block_in_place(|| node.stop()).expect("eu-west's node stops");
    let stopped_at = t0.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;

    // The writer, with its bookmark: 503 + retry-after, not the copy from before its write.
    let own = holder.get_after(AVAILABLE, &added).await;
    assert_eq!(own.status.as_u16(), 503, "{own:#?}");
    assert!(own.header("retry-after").parse::<u32>().is_ok(), "{own:#?}");
    assert_eq!(own.header("content-type"), "application/problem+json");
    // Anyone else: that copy, stale.
    let anyone = reader.get(AVAILABLE).await.expect(200);
    assert_eq!(anyone.header("x-roam-cache"), "stale", "{anyone:#?}");

    tokio::time::sleep(DOWN_FOR.saturating_sub(Duration::from_secs(2))).await;
    let restarting_at = t0.elapsed();
    tokio::task::block_in_place(|| node.start()).expect("eu-west's node starts");
    let refreshed = own_vehicle_listed(holder, &added).await;
    Outage {
        stopped_at,
        restarting_at,
        refreshed,
    }
}

/// The reader's lists during the outage were answered (stale or hit), the list was being
/// written to, and no write was lost, doubled or applied after a refusal.
fn check(outcome: &Outcome, ledger: &Ledger, outage: &Outage) {
    let during: Vec<&Attempt> = outcome
        .attempts_while_down(outage.stopped_at, outage.restarting_at)
        .into_iter()
        .filter(|a| !a.write)
        .collect();
    let count = |cache: &str| {
        during
            .iter()
            .filter(|a| a.status == 200 && a.cache == cache)
            .count()
    };
    let (stale, hit) = (count("stale"), count("hit"));
    let answered = (stale + hit) as f64 / during.len().max(1) as f64;
    let written_before = outcome
        .writes
        .iter()
        .filter(|w| w.acked_at.is_some_and(|at| at < outage.stopped_at))
        .count();
    eprintln!(
        "FIGURES soft purge: reader during the outage: {} lists, {stale} stale, {hit} hit, \
         answered {:.1} %; {written_before} writes acknowledged before the stop; bookmark \
         holder: 503 + retry-after during, its vehicle listed {:.1} s after the restart began; \
         writes {ledger:?}",
        during.len(),
        answered * 100.0,
        outage.refreshed.as_secs_f64(),
    );
    for a in &during {
        let at = a.at.as_secs_f64();
        eprintln!(
            "{at:>6.2}s {:>5} ms {} {}",
            a.latency.as_millis(),
            a.status,
            a.cache
        );
    }
    assert!(
        during.len() >= 5,
        "the reader was sampled during the outage: {during:?}"
    );
    assert!(written_before >= 10, "the list was being written to");
    assert!(
        answered >= ANSWERED_AT_LEAST,
        "answered {answered}: {during:?}"
    );
    assert_eq!(ledger.lost, 0, "{ledger:?}");
    assert_eq!(ledger.doubled, 0, "{ledger:?}");
    ledger.assert_no_refused_write_applied();
}

/// Reads the holder's list with its bookmark until the origin answers it (the superseded entry
/// refreshed) and it names the holder's vehicle; how long that took.
async fn own_vehicle_listed(holder: &User, added: &Answer) -> Duration {
    let id = added.body["id"].as_str().expect("the new vehicle's id");
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        let answer = holder.get_after(AVAILABLE, added).await;
        if answer.status == 200 {
            assert_ne!(answer.header("x-roam-cache"), "stale", "{answer:#?}");
            let listed = answer.body["vehicles"]
                .as_array()
                .is_some_and(|vs| vs.iter().any(|v| v["id"] == id));
            assert!(listed, "an answer after the write names it: {answer:#?}");
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("the holder's list was not answered within 30 s of the restart");
}
