//! Start-ride writes through the edge: riders with a vehicle each, and the closed loop the
//! throughput table reports (16 in flight).
//!
//! The origin lets a user hold one open ride at a time (409 otherwise), so every ride started
//! at once needs a rider of its own; and the edge limits sign-ups and log-ins per client
//! address, so every rider signs up from an address of their own, as the many people the bench
//! stands for would.

use std::time::Instant;

use anyhow::{Context, Result};
use futures::StreamExt;
use roam_stack::front::{simulated_client_address, CF_BLOB, CLIENT_ADDRESS};
use serde_json::{json, Value};

/// Riders signed up at once: each sign-up and log-in is an Argon2 hash, an origin hashes as
/// many at once as it has cores and answers 503 to one that waits past ROAM_HASH_WAIT_MS (1 s)
/// for its turn; four keeps the queue short on a loaded 2-core machine.
const SIGN_UPS_IN_FLIGHT: usize = 4;

/// Writes in flight in the closed loop.
const IN_FLIGHT: usize = 16;

/// Rides the closed loop starts (one per rider).
const RIDES: usize = 400;

/// A user of New York with a session and a vehicle of their own.
#[derive(Debug, Clone)]
pub(super) struct Rider {
    pub token: String,
    pub vehicle: String,
}

/// Signs up `count` riders (`tag` makes their emails unique), a few at a time.
pub(super) async fn riders(
    client: &reqwest::Client,
    edge: &str,
    blob: &str,
    tag: &str,
    count: usize,
) -> Result<Vec<Rider>> {
    let riders: Vec<Result<Rider>> = futures::stream::iter(0..count)
        .map(|i| rider(client, edge, blob, format!("{tag}-{i}")))
        .buffer_unordered(SIGN_UPS_IN_FLIGHT)
        .collect()
        .await;
    riders.into_iter().collect()
}

/// Signs up one rider from a fresh client address, logs them in and adds their vehicle.
async fn rider(client: &reqwest::Client, edge: &str, blob: &str, tag: String) -> Result<Rider> {
    let address = simulated_client_address();
    let post = |path: &str, token: Option<&str>, body: Value| {
        let request = client
            .post(format!("{edge}{path}"))
            .header(CF_BLOB, blob)
            .header(CLIENT_ADDRESS, &address)
            .json(&body);
        match token {
            Some(t) => request.bearer_auth(t),
            None => request,
        }
    };
    let email = format!("bench-rides-{}-{tag}@example.com", std::process::id());
    let password = super::journey::PASSWORD;
    let user =
        json!({"email": email, "name": "Bench Rider", "password": password, "city": "new-york"});
    let answer = |request: reqwest::RequestBuilder| async move {
        let response = request.send().await?.error_for_status()?;
        Ok::<Value, anyhow::Error>(response.json().await?)
    };
    answer(post("/api/v1/users", None, user)).await?;
    let log_in = json!({"email": email, "password": password});
    let session = answer(post("/api/v1/sessions", None, log_in)).await?;
    let token = session["token"].as_str().context("no token")?.to_string();
    let body = json!({"type": "bike", "last_location": "Bench Dock"});
    let vehicle = answer(post("/api/v1/cities/new-york/vehicles", Some(&token), body)).await?;
    let vehicle = vehicle["id"].as_str().context("no vehicle id")?.to_string();
    Ok(Rider { token, vehicle })
}

/// Starts a ride for each rider, 16 at a time (a closed loop): rides/s. The rides are ended
/// afterwards, untimed, so the same riders can ride again (through the other runtime's edge).
pub(super) async fn start_rides(
    client: &reqwest::Client,
    edge: &str,
    blob: &str,
    riders: &[Rider],
) -> Result<f64> {
    let queue = std::sync::Arc::new(std::sync::Mutex::new(riders.to_vec()));
    let url = format!("{edge}/api/v1/cities/new-york/rides");
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..IN_FLIGHT {
        let (queue, client) = (queue.clone(), client.clone());
        let (url, blob) = (url.clone(), blob.to_string());
        workers.spawn(async move {
            let mut rides = Vec::new();
            loop {
                let next = queue.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.pop();
                let Some(rider) = next else {
                    return Ok::<_, anyhow::Error>(rides);
                };
                let ride: Value = client
                    .post(&url)
                    .header(CF_BLOB, &blob)
                    .bearer_auth(&rider.token)
                    .json(&json!({"vehicle_id": rider.vehicle}))
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await?;
                let id = ride["id"].as_str().context("no ride id")?.to_string();
                rides.push((rider.token, id));
            }
        });
    }
    let mut rides = Vec::new();
    while let Some(worker) = workers.join_next().await {
        rides.extend(worker??);
    }
    let rate = rides.len() as f64 / started.elapsed().as_secs_f64();
    end_rides(client, edge, blob, &rides).await?;
    Ok(rate)
}

/// Ends each (rider's token, ride id), 16 at a time.
async fn end_rides(
    client: &reqwest::Client,
    edge: &str,
    blob: &str,
    rides: &[(String, String)],
) -> Result<()> {
    let end = |(token, id): &(String, String)| {
        let request = client
            .post(format!("{edge}/api/v1/cities/new-york/rides/{id}/end"))
            .header(CF_BLOB, blob)
            .bearer_auth(token)
            .json(&json!({"location": "Bench Dock"}));
        async move {
            request.send().await?.error_for_status()?;
            Ok::<(), anyhow::Error>(())
        }
    };
    let ended: Vec<Result<()>> = futures::stream::iter(rides)
        .map(end)
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    ended.into_iter().collect()
}

/// The closed loop's riders: as many as it starts rides.
pub(super) async fn closed_loop_riders(
    client: &reqwest::Client,
    edge: &str,
    blob: &str,
) -> Result<Vec<Rider>> {
    riders(client, edge, blob, "closed", RIDES).await
}
