//! Start-ride writes through the edge: a user with vehicles of their own (a ride needs an
//! available vehicle, so every write gets one), and the closed loop the throughput table
//! reports (16 in flight).

use std::time::Instant;

use anyhow::{Context, Result};
use roam_stack::front::CF_BLOB;
use serde_json::{json, Value};

/// Signs up a user (`tag` makes the email unique), logs in and adds `count` vehicles in
/// New York, 16 at a time: the session token and the vehicles' ids.
pub async fn user_with_vehicles(
    client: &reqwest::Client,
    edge: &str,
    blob: &str,
    tag: &str,
    count: usize,
) -> Result<(String, Vec<String>)> {
    let post = |path: &str, token: Option<&str>, body: Value| {
        let request = client
            .post(format!("{edge}{path}"))
            .header(CF_BLOB, blob)
            .json(&body);
        match token {
            Some(t) => request.bearer_auth(t),
            None => request,
        }
    };
    let email = format!("bench-rides-{}-{tag}@example.com", std::process::id());
    let password = "correct horse battery staple";
    let user =
        json!({"email": email, "name": "Bench Rider", "password": password, "city": "new-york"});
    post("/api/v1/users", None, user)
        .send()
        .await?
        .error_for_status()?;
    let session: Value = post(
        "/api/v1/sessions",
        None,
        json!({"email": email, "password": password}),
    )
    .send()
    .await?
    .error_for_status()?
    .json()
    .await?;
    let token = session["token"].as_str().context("no token")?.to_string();
    let add = |_| async {
        let body = json!({"type": "bike", "last_location": "Bench Dock"});
        let vehicle: Value = post("/api/v1/cities/new-york/vehicles", Some(&token), body)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let id = vehicle["id"].as_str().context("no vehicle id")?;
        Ok::<String, anyhow::Error>(id.to_string())
    };
    use futures::StreamExt;
    let vehicles: Vec<Result<String>> = futures::stream::iter(0..count)
        .map(add)
        .buffer_unordered(16)
        .collect()
        .await;
    let vehicles = vehicles.into_iter().collect::<Result<Vec<_>>>()?;
    Ok((token, vehicles))
}

/// Starts a ride on each of 400 vehicles, 16 at a time (a closed loop): rides/s.
pub async fn start_rides(
    client: &reqwest::Client,
    edge: &str,
    blob: &str,
    run: usize,
) -> Result<f64> {
    let (token, vehicles) =
        user_with_vehicles(client, edge, blob, &format!("closed-{run}"), 400).await?;
    let queue = std::sync::Arc::new(std::sync::Mutex::new(vehicles));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (queue, client, token) = (queue.clone(), client.clone(), token.clone());
        let (url, blob) = (
            format!("{edge}/api/v1/cities/new-york/rides"),
            blob.to_string(),
        );
        workers.spawn(async move {
            let mut done = 0usize;
            loop {
                let next = queue.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.pop();
                let Some(id) = next else {
                    return Ok::<usize, anyhow::Error>(done);
                };
                client
                    .post(&url)
                    .header(CF_BLOB, &blob)
                    .bearer_auth(&token)
                    .json(&json!({"vehicle_id": id}))
                    .send()
                    .await?
                    .error_for_status()?;
                done += 1;
            }
        });
    }
    let mut done = 0;
    while let Some(worker) = workers.join_next().await {
        done += worker??;
    }
    Ok(done as f64 / started.elapsed().as_secs_f64())
}
