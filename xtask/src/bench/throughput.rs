//! Throughput on loopback (no modelled distance): edge `/ping` against a minimal JavaScript
//! worker doing the same under the same workerd, cached vehicle-list hits, an origin's primary
//! key read against `pgbench -S` on the same node, start-ride writes/s through the edge, and
//! the size of the edge's bundle. wrk is the load generator (installed from Debian if
//! missing); each result line carries the command that reproduces it.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use roam_shared::signature::{self, SharedSecret, SignedParts};
use roam_shared::RegionMap;
use roam_stack::edge::{workspace_root, EdgeProcess};

use super::js_worker::JsWorker;
use roam_stack::front::{cf_blob, find_place, CF_BLOB};
use roam_stack::Stack;
use serde_json::{json, Value};

/// One measured number and how to get it again.
#[derive(Default)]
pub struct Line {
    pub what: String,
    pub value: String,
    pub how: String,
    /// The target for this number, said met or missed (empty: none).
    pub target: String,
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**missed**"
    }
}

pub(super) const WRK: &str = "wrk -t2 -c16 -d5s";

/// Runs every throughput measurement against a running multi-region stack and its edge.
pub async fn measure(stack: &Stack, edge: &EdgeProcess) -> Result<Vec<Line>> {
    ensure_wrk()?;
    if let Some(wan) = &stack.wan {
        // Loopback speed on the edge → origin links for these numbers.
        for origin in &stack.origins {
            if let Some(link) = wan.edge_link(&origin.options.region) {
                link.set_rtt(Duration::ZERO);
            }
        }
    }
    let map = RegionMap::builtin();
    let place = find_place(map, "new-york").context("new-york is in the map")?;
    let blob = format!("{CF_BLOB}: {}", cf_blob(&place, ""));
    let mut lines = Vec::new();

    let edge_ping = wrk(&format!("{}/ping", edge.url()), &[&blob])?;
    let js = JsWorker::start(map).await?;
    let js_ping = wrk(&format!("{}/ping", js.url()), &[&blob])?;
    lines.push(Line {
        what: "edge `/ping` (Rust → Wasm)".into(),
        value: format!("{edge_ping:.0} req/s"),
        how: format!("`{WRK} -H '<MF-CF-Blob>' <edge>/ping`"),
        ..Line::default()
    });
    lines.push(Line {
        what: "minimal JavaScript worker, same answer, same workerd".into(),
        value: format!(
            "{js_ping:.0} req/s (edge ÷ JS = {:.0}%)",
            100.0 * edge_ping / js_ping.max(1.0)
        ),
        how: format!("`{WRK} -H '<MF-CF-Blob>' <js worker>/ping`"),
        target: format!("edge ≥ 70% of JS: {}", verdict(edge_ping >= 0.7 * js_ping)),
    });
    drop(js);

    let list = format!(
        "{}/api/v1/cities/new-york/vehicles?status=available",
        edge.url()
    );
    let client = reqwest::Client::new();
    client
        .get(&list)
        .header(CF_BLOB, cf_blob(&place, ""))
        .send()
        .await?
        .error_for_status()?;
    let hits = wrk(&list, &[&blob])?;
    lines.push(Line {
        what: "cached vehicle list (edge cache hits)".into(),
        value: format!("{hits:.0} req/s"),
        how: format!(
            "`{WRK} -H '<MF-CF-Blob>' <edge>/api/v1/cities/new-york/vehicles?status=available`"
        ),
        ..Line::default()
    });

    let origin = stack.origin("us-east").context("no us-east origin")?;
    let listed: Value = client
        .get(&list)
        .header(CF_BLOB, cf_blob(&place, ""))
        .send()
        .await?
        .json()
        .await?;
    let vehicle = listed["vehicles"][0]["id"]
        .as_str()
        .context("no seeded vehicle in new-york")?;
    let path = format!("/api/v1/cities/new-york/vehicles/{vehicle}");
    let signed = signed_get(&stack.options.secret, &path)?;
    let headers: Vec<&str> = signed.iter().map(String::as_str).collect();
    let pk = wrk(&format!("{}{path}", origin.url()), &headers)?;
    let node = stack.cluster.node("us-east").context("no us-east node")?;
    let pgbench = pgbench(node.port)?;
    lines.push(Line {
        what: "origin primary-key read (one vehicle, signed GET straight to the us-east origin)"
            .into(),
        value: format!("{pk:.0} req/s"),
        how: format!("`{WRK} -H <signature headers> <origin>{path}`"),
        ..Line::default()
    });
    lines.push(Line {
        what: "`pgbench -S` on the same node".into(),
        value: format!(
            "{pgbench:.0} tps (origin ÷ pgbench = {:.0}%)",
            100.0 * pk / pgbench.max(1.0)
        ),
        how: format!(
            "`pgbench -i -s 1 pgbench && pgbench -S -c 16 -j 2 -T 5 pgbench` on port {}",
            node.port
        ),
        target: format!("origin ≥ 50% of pgbench: {}", verdict(pk >= 0.5 * pgbench)),
    });

    let rides = start_rides(&client, &edge.url(), &cf_blob(&place, "")).await?;
    lines.push(Line {
        what: "start-ride writes through the edge (16 in flight, each on its own vehicle)".into(),
        value: format!("{rides:.0} writes/s"),
        how: "`cargo xtask bench` (closed loop in xtask/src/bench/throughput.rs)".into(),
        ..Line::default()
    });
    lines.extend(bundle()?);
    Ok(lines)
}

fn ensure_wrk() -> Result<()> {
    if Command::new("wrk").arg("--version").output().is_ok() {
        return Ok(());
    }
    let status = Command::new("apt-get")
        .args(["install", "-y", "-q", "wrk"])
        .status()?;
    if !status.success() {
        bail!("wrk is missing and `apt-get install wrk` failed");
    }
    Ok(())
}

/// Requests per second wrk reached.
pub(super) fn wrk(url: &str, headers: &[&str]) -> Result<f64> {
    let mut command = Command::new("wrk");
    command.args(["-t2", "-c16", "-d5s"]);
    for header in headers {
        command.args(["-H", header]);
    }
    let output = command.arg(url).output().context("running wrk")?;
    let text = String::from_utf8_lossy(&output.stdout);
    if text.contains("Non-2xx") {
        bail!("wrk {url}: some answers were not 2xx:\n{text}");
    }
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:")?.trim().parse().ok())
        .with_context(|| format!("wrk {url}: no Requests/sec in\n{text}"))
}

/// Headers of a GET signed as the edge signs it (valid for the signature window, 30 s).
pub(super) fn signed_get(secret: &str, path: &str) -> Result<Vec<String>> {
    let secret = SharedSecret::parse(secret).map_err(anyhow::Error::msg)?;
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    let tags = vec![("x-roam-region".to_string(), "us-east".to_string())];
    let parts = SignedParts {
        method: "GET",
        path_and_query: path,
        timestamp,
        body_sha256: signature::body_digest(b""),
        headers: tags.clone(),
    };
    let mut headers: Vec<String> = tags.iter().map(|(n, v)| format!("{n}: {v}")).collect();
    headers.push(format!("x-roam-timestamp: {timestamp}"));
    headers.push(format!(
        "x-roam-signature: {}",
        signature::sign(&secret, &parts)
    ));
    Ok(headers)
}

fn pgbench(port: u16) -> Result<f64> {
    let port = port.to_string();
    let base = ["-h", "127.0.0.1", "-p", port.as_str(), "-U", "postgres"];
    let _ = Command::new("createdb").args(base).arg("pgbench").output();
    let init = Command::new("pgbench")
        .args(base)
        .args(["-i", "-q", "-s", "1", "pgbench"])
        .output()?;
    if !init.status.success() {
        bail!("pgbench -i: {}", String::from_utf8_lossy(&init.stderr));
    }
    let run = Command::new("pgbench")
        .args(base)
        .args(["-S", "-c", "16", "-j", "2", "-T", "5", "pgbench"])
        .output()?;
    let text = String::from_utf8_lossy(&run.stdout);
    text.lines()
        .find_map(|l| {
            l.strip_prefix("tps = ")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .with_context(|| format!("pgbench printed no tps:\n{text}"))
}

/// Signs up one user, adds vehicles, then starts a ride on each, 16 at a time: rides/s.
async fn start_rides(client: &reqwest::Client, edge: &str, blob: &str) -> Result<f64> {
    const VEHICLES: usize = 400;
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
    let email = format!("bench-rides-{}@example.com", std::process::id());
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
    let mut vehicles = Vec::new();
    for _ in 0..VEHICLES {
        let body = json!({"type": "bike", "last_location": "Bench Dock"});
        let vehicle: Value = post("/api/v1/cities/new-york/vehicles", Some(&token), body)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        vehicles.push(vehicle["id"].as_str().context("no vehicle id")?.to_string());
    }
    // A closed loop: 16 workers, each starting a ride on the next unused vehicle.
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

/// The edge's bundle, raw and gzip -9.
fn bundle() -> Result<Vec<Line>> {
    let root = workspace_root();
    let mut lines = Vec::new();
    let mut total_gz = 0;
    for file in ["build/index_bg.wasm", "build/index.js"] {
        let path = root.join(file);
        let raw = std::fs::metadata(&path)
            .with_context(|| format!("{file}: build the edge first"))?
            .len();
        let gz = Command::new("gzip")
            .args(["-9", "-c"])
            .arg(&path)
            .output()?
            .stdout
            .len();
        lines.push(Line {
            what: format!("edge bundle `{file}`"),
            value: format!(
                "{:.1} KiB raw, {:.1} KiB gzip",
                raw as f64 / 1024.0,
                gz as f64 / 1024.0
            ),
            how: format!("`gzip -9 -c {file}`, bytes out"),
            ..Line::default()
        });
        total_gz += gz;
    }
    if let Some(last) = lines.last_mut() {
        let kib = total_gz as f64 / 1024.0;
        last.target = format!(
            "bundle ≤ 300 KiB gzip: {} ({kib:.1} KiB)",
            verdict(kib <= 300.0)
        );
    }
    Ok(lines)
}
