//! Rotating the shared secret under load, by DEPLOY.md's procedure, without a single 401:
//! every origin restarted in turn (two per region, so each region keeps serving) and then the
//! edge redeployed, first accepting the new secret beside the old one, then signing with it. Signed-in users keep writing, reading with their bookmarks, listing their rides and
//! logging in again throughout, so tokens, bookmarks and request signatures of both keys meet
//! every verifier.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::future::join_all;
use roam_e2e::client::{email, User};
use roam_e2e::place::{Place, LOS_ANGELES, NEW_YORK, ROME};
use roam_e2e::world::{start_edge_with, start_stack_with};
use roam_stack::edge::{EdgeOptions, EdgeProcess};
use roam_stack::{Stack, StackOptions};
use serde_json::json;

const PASSWORD: &str = "rotation test password";
const NEW_SECRET: &str = "the-new-shared-secret-after-rotation";
const ACCEPTED: &str = "ROAM_SECRET_ACCEPTED";
const PHASES: [&str; 5] = [
    "before",
    "origins accepting the new secret",
    "edge accepting it",
    "origins signing with it",
    "edge signing with it",
];

/// What one request of the load got.
struct Seen {
    phase: &'static str,
    what: &'static str,
    status: u16,
}

/// Where the load is and which edge it talks to (a deploy switches it at once).
struct Load {
    edge_url: RwLock<String>,
    phase: RwLock<&'static str>,
    running: AtomicBool,
}

impl Load {
    fn edge(&self) -> String {
        self.edge_url.read().map(|u| u.clone()).unwrap_or_default()
    }
    fn phase(&self) -> &'static str {
        self.phase.read().map(|p| *p).unwrap_or("?")
    }
    fn enter(&self, phase: &'static str) {
        if let Ok(mut p) = self.phase.write() {
            *p = phase;
        }
    }
}

/// One user's loop: add a vehicle, list the city with the write's bookmark, list their rides;
/// every fourth round log in again and go on with the new token.
async fn user_loop(load: Arc<Load>, place: Place, who: String) -> Vec<Seen> {
    let address = email(&who);
    let mut seen = Vec::new();
    let mut user = User::new(&load.edge(), place);
    let body = json!({"email": address, "name": who, "password": PASSWORD});
    user.post("/api/v1/users", &body).await.expect(201);
    let mut round = 0u32;
    while load.running.load(Ordering::Relaxed) {
        user.base = load.edge();
        let phase = load.phase();
        let mut note = |what, status: reqwest::StatusCode| {
            seen.push(Seen {
                phase,
                what,
                status: status.as_u16(),
            })
        };
        if round.is_multiple_of(4) {
            let credentials = json!({"email": address, "password": PASSWORD});
            let session = user.post("/api/v1/sessions", &credentials).await;
            note("log in", session.status);
            if let Some(token) = session.body["token"].as_str() {
                user.token = Some(token.to_string());
            }
        }
        let city = place.city;
        let vehicle = json!({"type": "scooter", "last_location": format!("{who} round {round}")});
        let added = user
            .post(&format!("/api/v1/cities/{city}/vehicles"), &vehicle)
            .await;
        note("add a vehicle", added.status);
        let listed = user
            .get_after(&format!("/api/v1/cities/{city}/vehicles"), &added)
            .await;
        note("list after the write", listed.status);
        note("my rides", user.get("/api/v1/me/rides").await.status);
        round += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    seen
}

async fn edge_with(
    stack: &roam_stack::Stack,
    name: &str,
    secret: &str,
    accepted: Option<&str>,
) -> EdgeProcess {
    let mut options = EdgeOptions::with_pools(name, stack.origin_pools(), secret);
    if let Some(accepted) = accepted {
        options.vars.push((ACCEPTED.into(), accepted.into()));
    }
    start_edge_with(options).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_secret_rotates_under_load_without_a_401() {
    let mut options = StackOptions::for_tests("rotation");
    options.origins_per_region = 2;
    let mut stack = start_stack_with(options).await;
    let old_secret = stack.options.secret.clone();
    let edge = edge_with(&stack, "rotation-0", &old_secret, None).await;
    let load = Arc::new(Load {
        edge_url: RwLock::new(edge.url()),
        phase: RwLock::new(PHASES[0]),
        running: AtomicBool::new(true),
    });
    let users = [ROME, ROME, NEW_YORK, LOS_ANGELES].into_iter().enumerate();
    let loops: Vec<_> = users
        .map(|(i, place)| tokio::spawn(user_loop(load.clone(), place, format!("rotor{i}"))))
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;

    let _edge = rotate(&mut stack, edge, &load, &old_secret).await;

    load.running.store(false, Ordering::Relaxed);
    let seen: Vec<Seen> = join_all(loops)
        .await
        .into_iter()
        .flat_map(|r| r.expect("a user loop"))
        .collect();
    check(&seen);
}

/// Rotates in two steps (every verifier learns the new secret while still signing with the
/// old one, then every signer switches to it, still accepting the old one), each step
/// restarting the origins in turn and then redeploying the edge, `load` following. Returns
/// the edge now serving.
async fn rotate(
    stack: &mut Stack,
    mut edge: EdgeProcess,
    load: &Load,
    old_secret: &str,
) -> EdgeProcess {
    let rollouts = [(old_secret, NEW_SECRET), (NEW_SECRET, old_secret)];
    for (step, (current, accepted)) in rollouts.into_iter().enumerate() {
        load.enter(PHASES[1 + 2 * step]);
        for origin in &mut stack.origins {
            origin.options.secret = current.into();
            origin.options.env.retain(|(name, _)| name != ACCEPTED);
            origin.options.env.push((ACCEPTED.into(), accepted.into()));
            origin
                .restart()
                .await
                .expect("the origin back with both keys");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        // The edge redeployed the same way: requests move to the new deployment at once.
        let name = format!("rotation-{}", step + 1);
        let next_edge = edge_with(stack, &name, current, Some(accepted)).await;
        load.enter(PHASES[2 + 2 * step]);
        if let Ok(mut url) = load.edge_url.write() {
            *url = next_edge.url();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        edge.stop();
        edge = next_edge;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    edge
}

/// Every phase saw the load, and nothing was refused (401/403) or failed.
fn check(seen: &[Seen]) {
    for phase in PHASES {
        let of_phase: Vec<&Seen> = seen.iter().filter(|s| s.phase == phase).collect();
        let ok = of_phase
            .iter()
            .filter(|s| (200..300).contains(&s.status))
            .count();
        eprintln!(
            "rotation, {phase}: {} requests, {ok} answered 2xx",
            of_phase.len()
        );
        assert!(!of_phase.is_empty(), "the load ran during {phase}");
    }
    let refused: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.status == 401 || s.status == 403)
        .collect();
    assert!(
        refused.is_empty(),
        "refused during the rotation: {}",
        describe(&refused)
    );
    let failed: Vec<&Seen> = seen
        .iter()
        .filter(|s| !(200..300).contains(&s.status))
        .collect();
    assert!(
        failed.is_empty(),
        "failed during the rotation: {}",
        describe(&failed)
    );
}

fn describe(seen: &[&Seen]) -> String {
    let lines: Vec<String> = seen
        .iter()
        .map(|s| format!("{} during {}: {}", s.what, s.phase, s.status))
        .collect();
    lines.join("; ")
}
