//! A small closed-loop load generator for one origin, signing requests as the edge does.
//! Used for the numbers in the issue's closing note (PK read, start-ride, same- vs
//! cross-region read); needs a seeded database (`roam-origin seed`).
//!
//! ```text
//! cargo run --release -p roam-origin --example load -- \
//!     --url http://127.0.0.1:8081 --mode read --city rome --concurrency 16 --seconds 10
//! ```

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use roam_origin::schema::seed::seed_id;
use roam_shared::signature::{self, SharedSecret, SignedParts, DEV_SECRET};
use roam_shared::token::{self, SessionClaims};

#[derive(Parser, Clone)]
struct Args {
    /// The origin, e.g. http://127.0.0.1:8081.
    #[arg(long)]
    url: String,
    /// `read` (GET one vehicle by primary key) or `start-ride`.
    #[arg(long, default_value = "read")]
    mode: String,
    /// The city whose seeded vehicles are used.
    #[arg(long, default_value = "new-york")]
    city: String,
    /// Seeded vehicles per city (reads pick among them; each ride takes a fresh one).
    #[arg(long, default_value_t = 2000)]
    vehicles: u32,
    /// Requests in flight.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// How long to run.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let secret = SharedSecret::parse(DEV_SECRET).map_err(anyhow::Error::msg)?;
    let bearer = session_bearer(&args, &secret);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let next = Arc::new(AtomicU32::new(0));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let workers = (0..args.concurrency).map(|_| {
        tokio::spawn(worker(
            args.clone(),
            client.clone(),
            secret.clone(),
            bearer.clone(),
            next.clone(),
            deadline,
        ))
    });
    let mut samples = Vec::new();
    let mut statuses = Statuses::new();
    for worker in futures::future::join_all(workers).await {
        let (s, st) = worker?;
        samples.extend(s);
        for (k, v) in st {
            *statuses.entry(k).or_default() += v;
        }
    }
    print_summary(&args, samples, &statuses);
    Ok(())
}

/// How many answers had each status (0: no answer).
type Statuses = std::collections::BTreeMap<u16, u32>;

/// A session token for the city's first seeded user, as the `authorization` header value.
fn session_bearer(args: &Args, secret: &SharedSecret) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = SessionClaims {
        sub: seed_id(&args.city, "user", 0),
        city: args.city.clone(),
        sid: uuid::Uuid::new_v4(),
        iat: now,
        exp: now + 3600,
    };
    format!("Bearer {}", token::issue(secret, &claims))
}

/// One closed loop: request after request until `deadline`, each timed.
async fn worker(
    args: Args,
    client: reqwest::Client,
    secret: SharedSecret,
    bearer: String,
    next: Arc<AtomicU32>,
    deadline: Instant,
) -> (Vec<Duration>, Statuses) {
    let mut samples = Vec::new();
    let mut statuses = Statuses::new();
    while Instant::now() < deadline {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let (request, body) = signed_request(&args, &client, &secret, &bearer, i);
        let started = Instant::now();
        let status = match request.body(body).send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                let _ = r.bytes().await;
                status
            }
            Err(_) => 0,
        };
        samples.push(started.elapsed());
        *statuses.entry(status).or_default() += 1;
    }
    (samples, statuses)
}

/// The `i`th request of the mode (on the `i`th seeded vehicle, round robin), signed as the
/// edge signs it, and its body.
fn signed_request(
    args: &Args,
    client: &reqwest::Client,
    secret: &SharedSecret,
    bearer: &str,
    i: u32,
) -> (reqwest::RequestBuilder, String) {
    let vehicle = seed_id(&args.city, "vehicle", i % args.vehicles);
    let (method, path, body) = match args.mode.as_str() {
        "start-ride" => (
            "POST",
            format!("/api/v1/cities/{}/rides", args.city),
            serde_json::json!({ "vehicle_id": vehicle }).to_string(),
        ),
        _ => (
            "GET",
            format!("/api/v1/cities/{}/vehicles/{vehicle}", args.city),
            String::new(),
        ),
    };
    let key = uuid::Uuid::new_v4().to_string();
    let ts = chrono::Utc::now().timestamp();
    let mut headers = vec![("x-roam-region".to_string(), "bench".to_string())];
    if method == "POST" {
        headers.push(("idempotency-key".to_string(), key));
    }
    let parts = SignedParts {
        method,
        path_and_query: &path,
        timestamp: ts,
        body_sha256: signature::body_digest(body.as_bytes()),
        headers: headers.clone(),
    };
    let mut request = client
        .request(
            method.parse().unwrap_or(reqwest::Method::GET),
            format!("{}{path}", args.url),
        )
        .header("x-roam-timestamp", ts.to_string())
        .header("x-roam-signature", signature::sign(secret, &parts))
        .header("authorization", bearer)
        .header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(name, value);
    }
    (request, body)
}

/// Throughput, p50 and p99 over every worker's samples, and the statuses.
fn print_summary(args: &Args, mut samples: Vec<Duration>, statuses: &Statuses) {
    samples.sort();
    let pct = |p: f64| {
        let i = ((samples.len() as f64 * p) as usize).min(samples.len().saturating_sub(1));
        samples
            .get(i)
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(0.0)
    };
    println!(
        "{} {} c={}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, statuses {:?}",
        args.mode,
        args.city,
        args.concurrency,
        samples.len() as f64 / args.seconds as f64,
        pct(0.5),
        pct(0.99),
        statuses
    );
}
