//! (Long because its four attacks share one stack and the flood's lock; each is short.)
//!
//! What an attacker on the internet tries, through the edge: a flood of log-ins (the origin's
//! memory stays bounded and other routes keep answering), guessing from one address (the
//! edge's per-address limits), a stolen token after log-out (refused), and the browser-side
//! hardening of the pages and cookies.
//!
//! One stack and one edge serve the file. Figures go to stderr for RELIABILITY.md; the bound
//! asserted on memory is wide on purpose (this box is noisy, the bound is not a benchmark).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::future::join_all;
use roam_e2e::client::{email, header_text, Answer, User};
use roam_e2e::place::ROME;
use roam_e2e::world::World;
use serde_json::json;
use tokio::sync::OnceCell;

const PASSWORD: &str = "abuse test password";

async fn world() -> &'static World {
    static WORLD: OnceCell<World> = OnceCell::const_new();
    World::shared(&WORLD, "abuse").await
}

/// The flood takes every hashing turn of eu-west; the file's other tests wait for it to end
/// rather than be refused by it.
static FLOOD: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// The origin's part of an answer's time (`server-timing: …, origin;dur=N`), ms.
fn origin_ms(answer: &Answer) -> f64 {
    answer
        .header("server-timing")
        .split(',')
        .find_map(|part| part.trim().strip_prefix("origin;dur="))
        .and_then(|ms| ms.parse().ok())
        .unwrap_or(f64::NAN)
}

/// A `/proc/<pid>/status` figure of a process, in KiB.
fn proc_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.trim().strip_suffix("kB"))
        .and_then(|kib| kib.trim().parse().ok())
        .expect("a kB figure")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_log_in_flood_leaves_the_origin_small_and_other_routes_answering() {
    let world = world().await;
    let _alone = FLOOD.write().await;
    let base = world.edge.url();
    let reader = world.signed_in(ROME, "steady-reader", PASSWORD).await;
    let origin = world.stack.origin("eu-west").expect("eu-west origin");
    let pid = origin.pid().expect("a running origin");
    // Count the peak from here (Linux: writing 5 to clear_refs resets VmHWM).
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").expect("reset the peak");
    let before = proc_kib(pid, "VmRSS:");

    let flooding = AtomicBool::new(true);
    let (outcomes, answered) = tokio::join!(
        two_hundred_log_ins_at_once(&base, &flooding),
        keep_reading_rides(&reader, &flooding)
    );

    let peak = proc_kib(pid, "VmHWM:");
    let count = |status: u16| outcomes.iter().filter(|(s, _)| *s == status).count();
    let slowest = answered.iter().map(|(_, ms)| *ms).fold(0.0, f64::max);
    eprintln!(
        "log-in flood: 200 at once → {} × 401, {} × 503; eu-west origin RSS {} MiB before, \
         peak {} MiB; a reader meanwhile: {} answers, the origin's slowest {slowest} ms",
        count(401),
        count(503),
        before / 1024,
        peak / 1024,
        answered.len()
    );
    assert!(
        outcomes
            .iter()
            .all(|(status, retry)| *status == 401 || (*status == 503 && !retry.is_empty())),
        "only refusals and 503 + retry-after: {outcomes:?}"
    );
    assert!(count(401) > 0, "some attempts were answered: {outcomes:?}");
    assert!(peak < 256 * 1024, "peak resident memory {peak} KiB");
    assert!(
        !answered.is_empty() && answered.iter().all(|(status, _)| *status == 200),
        "the reader was answered throughout: {answered:?}"
    );
}

/// 200 log-ins at once, each from its own address (so the edge's per-address limit does not
/// stop them first), for accounts that do not exist, as people in Rome: (status, retry-after)
/// of each. Clears `flooding` when all are answered.
async fn two_hundred_log_ins_at_once(base: &str, flooding: &AtomicBool) -> Vec<(u16, String)> {
    let attempts = (0..200).map(|i| async move {
        let user = User::new(base, ROME);
        let body = json!({"email": email(&format!("flood{i}")), "password": "guess"});
        let answer = user.post("/api/v1/sessions", &body).await;
        let retry_after = answer.header("retry-after").to_string();
        (answer.status.as_u16(), retry_after)
    });
    let outcomes = join_all(attempts).await;
    flooding.store(false, Ordering::Relaxed);
    outcomes
}

/// Meanwhile a signed-in Roman keeps reading their rides (the same origin, no hashing):
/// (status, the origin's own milliseconds from server-timing) of each answer.
async fn keep_reading_rides(reader: &User, flooding: &AtomicBool) -> Vec<(u16, f64)> {
    let mut answered = Vec::new();
    while flooding.load(Ordering::Relaxed) {
        let answer = reader.get("/api/v1/me/rides").await;
        answered.push((answer.status.as_u16(), origin_ms(&answer)));
    }
    answered
}

/// Waits, if need be, until early in a minute: the limits count in fixed windows (miniflare's
/// aligned to the clock's minutes), and a burst must fall inside one to be counted as one.
async fn early_in_a_window() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let into = now.as_secs() % 60;
    if into > 40 {
        tokio::time::sleep(Duration::from_secs(61 - into)).await;
    }
}

/// The statuses of `attempts` posts of `body(i)` to `path`, all at once from one address.
async fn burst(
    user: &User,
    path: &str,
    attempts: usize,
    body: impl Fn(usize) -> serde_json::Value,
) -> Vec<u16> {
    let posts = (0..attempts).map(|i| {
        let body = body(i);
        async move { user.post(path, &body).await }
    });
    let answers = join_all(posts).await;
    for limited in answers.iter().filter(|a| a.status == 429) {
        assert_eq!(limited.header("retry-after"), "60");
        assert_eq!(limited.header("content-type"), "application/problem+json");
        assert!(limited.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("your address")));
    }
    answers.iter().map(|a| a.status.as_u16()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_address_gets_twenty_log_ins_a_minute_and_five_sign_ups() {
    let world = world().await;
    let _not_during_the_flood = FLOOD.read().await;
    let base = world.edge.url();
    early_in_a_window().await;
    // 21 guesses from one address, each at another account (so the origin's per-account lock
    // stays out of it): twenty reach the origin, one is stopped at the edge.
    let guesser = User::new(&base, ROME);
    let statuses = burst(
        &guesser,
        "/api/v1/sessions",
        21,
        |i| json!({"email": email(&format!("guess{i}")), "password": "guess"}),
    )
    .await;
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(limited, 1, "{statuses:?}");
    // The others were answered by an origin (401, or 503 if hashing was busy).
    assert!(
        statuses.iter().all(|s| [401, 429, 503].contains(s)),
        "{statuses:?}"
    );
    // Another address is not held back by this one.
    let other = User::new(&base, ROME);
    let body = json!({"email": email("someone-else"), "password": "guess"});
    other.post("/api/v1/sessions", &body).await.expect(401);

    let signer = User::new(&base, ROME);
    let statuses = burst(
        &signer,
        "/api/v1/users",
        6,
        |i| json!({"email": email(&format!("signup{i}")), "name": "Script", "password": PASSWORD}),
    )
    .await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [201, 429, 503].contains(s)),
        "{statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_is_refused_after_log_out_and_every_session_after_log_out_everywhere() {
    let world = world().await;
    let _not_during_the_flood = FLOOD.read().await;
    let base = world.edge.url();
    let address = email("two-devices");
    let body = json!({"email": address, "name": "Two Devices", "password": PASSWORD});
    User::new(&base, ROME)
        .post("/api/v1/users", &body)
        .await
        .expect(201);

    let laptop = logged_in_as(&base, &address).await;
    laptop.get("/api/v1/me/rides").await.expect(200);
    laptop.delete("/api/v1/sessions").await.expect(204);
    // A stolen copy of the token is worthless now, for reads and writes.
    laptop.get("/api/v1/me/rides").await.expect(401);
    let ride = json!({"vehicle_id": "0b3e3c1e-6c1f-4c3e-9a57-5e6f8f1f2a3b", "start_address": "Via del Corso 1"});
    laptop
        .post("/api/v1/cities/rome/rides", &ride)
        .await
        .expect(401);

    // Two live sessions, then "log out everywhere" from one of them.
    let phone = logged_in_as(&base, &address).await;
    let tablet = logged_in_as(&base, &address).await;
    phone.get("/api/v1/me/rides").await.expect(200);
    tablet.get("/api/v1/me/rides").await.expect(200);
    phone.delete("/api/v1/me/sessions").await.expect(204);
    phone.get("/api/v1/me/rides").await.expect(401);
    tablet.get("/api/v1/me/rides").await.expect(401);
    // Logging in again starts a fresh session that works.
    let again = logged_in_as(&base, &address).await;
    again.get("/api/v1/me/rides").await.expect(200);
}

async fn logged_in_as(base: &str, address: &str) -> User {
    let mut user = User::new(base, ROME);
    user.log_in(address, PASSWORD).await;
    user
}

#[tokio::test(flavor = "multi_thread")]
async fn every_cookie_is_secure_and_the_pages_allow_only_their_own_scripts() {
    let world = world().await;
    let _not_during_the_flood = FLOOD.read().await;
    let base = world.edge.url();
    let mut user = User::new(&base, ROME);
    let address = email("cookies");
    let sign_up = json!({"email": address, "name": "Cookie", "password": PASSWORD, "city": "rome"});
    let signed_up = user.post("/api/v1/users", &sign_up).await.expect(201);
    let session = user.log_in(&address, PASSWORD).await;
    let added = user.add_bike("rome", "Piazza Navona").await;
    let cookies: Vec<String> = [&signed_up, &session, &added]
        .iter()
        .flat_map(|a| a.headers.get_all("set-cookie"))
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    assert!(cookies.len() >= 2, "home and bookmark cookies: {cookies:?}");
    for cookie in &cookies {
        assert!(
            cookie.contains("; Secure") && cookie.contains("HttpOnly"),
            "{cookie}"
        );
    }

    // Plain GETs (a page's headers as a browser gets them, no session or place).
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{base}{path}")).send();
    for page in ["/", "/app", "/docs"] {
        let response = get(page).await.expect("a page");
        assert_eq!(response.status(), 200, "{page}");
        let policy = header_text(response.headers(), "content-security-policy").to_string();
        assert!(
            policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"),
            "{page}: {policy:?}"
        );
        let html = response.text().await.expect("html");
        assert!(
            !html.contains("<script>") && !html.contains("style="),
            "{page} has inline script or style"
        );
    }
    let rules = get("/_headers").await.expect("an answer");
    assert_eq!(rules.status(), 404, "the rules file is not served");
}
