//! The curves of [`super::load`]: what each one loads and at which rates.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use roam_shared::RegionMap;
use roam_stack::front::{cf_blob, find_place, CF_BLOB};
use roam_stack::Stack;
use serde_json::{json, Value};

use super::baselines::{self, Baseline};
use super::edges::{Edge, Runtime};
use super::load::{self, saturated, Curve, Step};
use super::origin_read::seeded_vehicle_path;

/// Seconds per step for reads and for writes (each write needs a rider of its own).
const READ_STEP: Duration = Duration::from_secs(3);
const WRITE_STEP: Duration = Duration::from_secs(2);

/// Rates of the read curves: the edge answers a hit in well under a millisecond of CPU.
pub(super) const READ_RATES: [f64; 10] = [
    250.0, 500.0, 1000.0, 2000.0, 3000.0, 4000.0, 6000.0, 8000.0, 12000.0, 16000.0,
];
/// Rates of the write curve: a write is an origin transaction and an Argon2-free insert.
pub(super) const WRITE_RATES: [f64; 6] = [25.0, 50.0, 100.0, 150.0, 200.0, 300.0];

/// Climbs the read rates with GETs of `url` until saturated, with `oha` (a release build: the
/// generator must not be the bottleneck, as xtask's own debug build would be at thousands of
/// requests a second); `headers` are made per step (an origin's signature is valid only for a
/// short window).
pub(super) fn reads(
    name: &str,
    url: &str,
    headers: &dyn Fn() -> Vec<(String, String)>,
) -> Result<Curve> {
    // Connections and caches warm, and the first step not the one paying for it.
    oha_step(url, &headers(), 100.0, Duration::from_secs(1))?;
    let mut curve = empty_curve(name);
    for &rate in &READ_RATES {
        if !keep_climbing(&mut curve, oha_step(url, &headers(), rate, READ_STEP)?) {
            break;
        }
    }
    Ok(curve)
}

fn empty_curve(name: &str) -> Curve {
    Curve {
        name: name.to_string(),
        steps: Vec::new(),
    }
}

/// Reports `step` and adds it to `curve`; whether the climb goes on (it was not saturated).
fn keep_climbing(curve: &mut Curve, step: Step) -> bool {
    eprintln!(
        "bench: {} at {:.0}/s: delivered {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, {} failed",
        curve.name, step.offered, step.delivered, step.p50_ms, step.p99_ms, step.failed
    );
    let climb_on = !saturated(&step);
    curve.steps.push(step);
    climb_on
}

/// One step with `oha -q <rate> --latency-correction` (latency from each request's scheduled
/// time, the open-loop measure), 64 connections.
fn oha_step(url: &str, headers: &[(String, String)], rate: f64, each: Duration) -> Result<Step> {
    let mut command = Command::new("oha");
    command
        .args([
            "--no-tui",
            "--output-format",
            "json",
            "--latency-correction",
        ])
        .args(["-c", "64", "-q", &format!("{rate:.0}")])
        .args(["-z", &format!("{}ms", each.as_millis())]);
    for (name, value) in headers {
        command.args(["-H", &format!("{name}: {value}")]);
    }
    let output = command.arg(url).output().context("running oha")?;
    if !output.status.success() {
        bail!("oha {url}: {}", String::from_utf8_lossy(&output.stderr));
    }
    let report: Value = serde_json::from_slice(&output.stdout).context("oha's JSON")?;
    let seconds = report["summary"]["total"]
        .as_f64()
        .unwrap_or(each.as_secs_f64());
    let mut ok = 0.0;
    let mut failed = 0.0;
    if let Some(codes) = report["statusCodeDistribution"].as_object() {
        for (code, count) in codes {
            let count = count.as_f64().unwrap_or(0.0);
            if code.starts_with('2') {
                ok += count;
            } else {
                failed += count;
            }
        }
    }
    if let Some(errors) = report["errorDistribution"].as_object() {
        // Requests still in flight when the step ends are cut off, not failed.
        failed += errors
            .iter()
            .filter(|(error, _)| !error.contains("deadline"))
            .filter_map(|(_, count)| count.as_f64())
            .sum::<f64>();
    }
    let ms = |p: &str| report["latencyPercentiles"][p].as_f64().unwrap_or(f64::NAN) * 1000.0;
    Ok(Step {
        offered: rate,
        delivered: ok / seconds.max(0.001),
        p50_ms: ms("p50"),
        p99_ms: ms("p99"),
        failed: failed as usize,
    })
}

/// `pgbench -S -R <rate>` on the node at `port`, 16 clients as elsewhere, per-transaction
/// latencies from its log (with -R they run from each transaction's scheduled start).
pub(super) fn pgbench(port: u16, dir: &Path) -> Result<Curve> {
    super::origin_read::pgbench_init(port)?;
    let mut curve = empty_curve("pgbench -S -R");
    for &rate in &READ_RATES {
        if !keep_climbing(&mut curve, pgbench_step(port, rate, dir)?) {
            break;
        }
    }
    Ok(curve)
}

fn pgbench_step(port: u16, rate: f64, dir: &Path) -> Result<Step> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    let seconds = READ_STEP.as_secs();
    let output = Command::new("pgbench")
        .current_dir(dir)
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
        .args(["-S", "-c", "16", "-j", "2", "--log", "--log-prefix=tx"])
        .args([
            "-R",
            &format!("{rate:.0}"),
            "-T",
            &seconds.to_string(),
            "pgbench",
        ])
        .output()
        .context("running pgbench")?;
    if !output.status.success() {
        bail!("pgbench -R: {}", String::from_utf8_lossy(&output.stderr));
    }
    let mut latencies = Vec::new();
    for entry in std::fs::read_dir(dir)?.flatten() {
        let text = std::fs::read_to_string(entry.path())?;
        // client_id transaction_no latency_µs script_no epoch epoch_µs [schedule_lag]
        latencies.extend(text.lines().filter_map(|line| {
            let micros: f64 = line.split_whitespace().nth(2)?.parse().ok()?;
            Some(micros / 1000.0)
        }));
    }
    let mut step = load::summarise(rate, latencies, 0, seconds as f64);
    // pgbench's own count: -R draws start times from a Poisson process, so a short step
    // holds a few more or fewer than rate × seconds.
    let text = String::from_utf8_lossy(&output.stdout);
    if let Some(tps) = text.lines().find_map(|l| {
        l.strip_prefix("tps = ")?
            .split_whitespace()
            .next()?
            .parse::<f64>()
            .ok()
    }) {
        step.delivered = tps;
    }
    Ok(step)
}

/// Start-ride writes through the edge, each by a rider of their own (one open ride per user),
/// climbing the rates until saturated. A step's riders sign up before it, untimed, and only for
/// the steps that run: each is two Argon2 hashes.
pub(super) async fn writes(edge: &str, blob: &str) -> Result<Curve> {
    let mut curve = empty_curve("start ride through the edge");
    let client = load::client()?;
    let url = format!("{edge}/api/v1/cities/new-york/rides");
    for (n, &rate) in WRITE_RATES.iter().enumerate() {
        let count = (rate * WRITE_STEP.as_secs_f64()) as usize + 1;
        let tag = format!("open-loop-{n}");
        let riders = super::writes::riders(&client, edge, blob, &tag, count).await?;
        let ride = |i: u64| {
            let rider = riders.get(i as usize);
            client
                .post(&url)
                .header(CF_BLOB, blob)
                .bearer_auth(rider.map_or("", |r| r.token.as_str()))
                .json(&json!({ "vehicle_id": rider.map_or("", |r| r.vehicle.as_str()) }))
        };
        if !keep_climbing(&mut curve, load::step(rate, WRITE_STEP, ride).await?) {
            break;
        }
    }
    Ok(curve)
}

/// Signed headers for a GET of `path` straight to an origin, signed now.
pub(super) fn signed(secret: &str, path: &str) -> Vec<(String, String)> {
    let lines = super::origin_read::signed_get(secret, path).unwrap_or_default();
    lines
        .iter()
        .filter_map(|l| l.split_once(": "))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// Every curve, against a running multi-region stack and its edge in plain workerd, on
/// loopback (no modelled distance on the edge → origin links).
pub(super) async fn measure(stack: &Stack, edge: &Edge) -> Result<Vec<Curve>> {
    if let Some(wan) = &stack.wan {
        for origin in &stack.origins {
            if let Some(link) = wan.edge_link(&origin.options.region) {
                link.set_rtt(Duration::ZERO);
            }
        }
    }
    let place = find_place(RegionMap::builtin(), "new-york").context("new-york is in the map")?;
    let blob = cf_blob(&place, "");
    let blob_header = || vec![(CF_BLOB.to_string(), blob.clone())];
    let list = "/api/v1/cities/new-york/vehicles?status=available";
    let dir = std::env::temp_dir().join(format!("roam-bench-load-{}", std::process::id()));
    let mut curves = Vec::new();
    let roam_url = format!("{}{list}", edge.url());
    curves.push(reads("cached read, roam edge", &roam_url, &blob_header)?);
    let js = baselines::start(Baseline::CacheHit, Runtime::Workerd, &dir, &edge.url()).await?;
    let js_url = format!("{}{list}", js.url());
    curves.push(reads(
        "cached read, JavaScript worker",
        &js_url,
        &blob_header,
    )?);
    drop(js);

    let blob_line = format!("{CF_BLOB}: {blob}");
    let path = seeded_vehicle_path(&reqwest::Client::new(), &edge.url(), Some(&blob_line)).await?;
    let origin = stack.origin("us-east").context("no us-east origin")?;
    let secret = stack.options.secret.clone();
    let sign = || signed(&secret, &path);
    let origin_url = format!("{}{path}", origin.url());
    curves.push(reads("primary-key read, origin", &origin_url, &sign)?);
    let node = stack.cluster.node("us-east").context("no us-east node")?;
    curves.push(pgbench(node.port, &dir.join("pgbench"))?);
    curves.push(writes(&edge.url(), &blob).await?);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(curves)
}
