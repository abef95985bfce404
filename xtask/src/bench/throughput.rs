//! Throughput on loopback (no modelled distance), in both runtimes (see [`super::edges`]):
//! edge `/ping` against a JavaScript worker giving the same answer, cached vehicle reads
//! against a JavaScript worker doing the same Cache API lookup (each pair measured in
//! alternating rounds, medians), an origin's primary key read against `pgbench -S` on the
//! same node, start-ride writes/s through the edge, and the size of the edge's bundle. wrk is
//! the load generator (installed from Debian if missing); each line carries the command that
//! reproduces it.

use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use roam_shared::RegionMap;
use roam_stack::edge::workspace_root;
use roam_stack::front::{cf_blob, find_place, CF_BLOB};
use roam_stack::Stack;

use super::baselines::{self, Baseline};
use super::compare::{self, Target, WRK};
use super::edges::{Edge, Runtime};
use super::line::Line;
use super::report::met;

/// Rounds per pair in plain workerd (the judged runtime) and under wrangler dev.
const ROUNDS: [usize; 2] = [3, 1];

/// The edge's paths against their JavaScript baselines, per runtime: [(roam, JS)] for `/ping`
/// and for cached reads.
struct EdgeFigures {
    ping: [(compare::Measured, compare::Measured); 2],
    hits: [(compare::Measured, compare::Measured); 2],
}

/// Runs every throughput measurement against a running multi-region stack and its edges
/// (plain workerd first, then wrangler dev).
pub(super) async fn measure(stack: &Stack, edges: [&Edge; 2]) -> Result<Vec<Line>> {
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
    let figures = edge_figures(edges, &blob).await?;
    let mut lines = edge_lines(&figures);

    let client = reqwest::Client::new();
    lines.extend(super::origin_read::lines(stack, &client, edges[0], &blob).await?);
    let blob = cf_blob(&place, "");
    let riders = super::writes::closed_loop_riders(&client, &edges[0].url(), &blob).await?;
    let mut rides = [0.0; 2];
    for (i, edge) in edges.iter().enumerate() {
        rides[i] = super::writes::start_rides(&client, &edge.url(), &blob, &riders).await?;
    }
    lines.push(Line {
        what: "start-ride writes through the edge (16 in flight, each rider on their own vehicle)"
            .into(),
        value: format!("{:.0} writes/s", rides[0]),
        dev: format!("{:.0} writes/s", rides[1]),
        how: "`cargo xtask bench` (closed loop in xtask/src/bench/writes.rs)".into(),
        ..Line::default()
    });
    lines.extend(super::coldstart::measure().await?);
    lines.extend(bundle()?);
    Ok(lines)
}

/// roam's edge and the JavaScript baselines, pair by pair, runtime by runtime.
async fn edge_figures(edges: [&Edge; 2], blob: &str) -> Result<EdgeFigures> {
    let dir = std::env::temp_dir().join(format!("roam-bench-js-{}", std::process::id()));
    let list = "/api/v1/cities/new-york/vehicles?status=available";
    let mut ping = Vec::new();
    let mut hits = Vec::new();
    for (i, runtime) in Runtime::ALL.into_iter().enumerate() {
        let edge = edges[i];
        let target = |url: String, pid| Target {
            url,
            headers: vec![blob.to_string()],
            pid,
        };
        let js = baselines::start(Baseline::Ping, runtime, &dir, &edge.url()).await?;
        let pair = [
            target(format!("{}/ping", edge.url()), edge.workerd_pid()),
            target(format!("{}/ping", js.url()), js.workerd_pid()),
        ];
        eprintln!("bench: /ping, roam vs JavaScript, {}", runtime.label());
        let [a, b] = two(compare::alternate(&pair, ROUNDS[i])?)?;
        eprintln!("bench:   roam {}; JavaScript {}", rate(&a), rate(&b));
        ping.push((a, b));
        drop(js);

        let js = baselines::start(Baseline::CacheHit, runtime, &dir, &edge.url()).await?;
        let pair = [
            target(format!("{}{list}", edge.url()), edge.workerd_pid()),
            target(format!("{}{list}", js.url()), js.workerd_pid()),
        ];
        for warm in &pair {
            compare::wrk(&warm.url, &warm.headers)?;
        }
        eprintln!(
            "bench: cached reads, roam vs JavaScript, {}",
            runtime.label()
        );
        let [a, b] = two(compare::alternate(&pair, ROUNDS[i])?)?;
        eprintln!("bench:   roam {}; JavaScript {}", rate(&a), rate(&b));
        hits.push((a, b));
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(EdgeFigures {
        ping: two(ping)?,
        hits: two(hits)?,
    })
}

fn two<T>(v: Vec<T>) -> Result<[T; 2]> {
    v.try_into()
        .map_err(|_| anyhow::anyhow!("expected two measurements"))
}

/// `11061 req/s (10412–11380), 87 µs CPU/req`: the median, the rounds' range, workerd's CPU.
fn rate(m: &compare::Measured) -> String {
    let mut out = format!("{:.0} req/s", m.per_second);
    if m.rounds.len() > 1 {
        let min = m.rounds.iter().copied().fold(f64::INFINITY, f64::min);
        let max = m.rounds.iter().copied().fold(0.0, f64::max);
        out.push_str(&format!(" ({min:.0}–{max:.0})"));
    }
    if let Some(cpu) = m.cpu_us {
        out.push_str(&format!(", {cpu:.0} µs CPU/req"));
    }
    out
}

fn edge_lines(f: &EdgeFigures) -> Vec<Line> {
    let ratio = |(roam, js): &(compare::Measured, compare::Measured)| {
        roam.per_second / js.per_second.max(1.0)
    };
    let pair_lines = |what: &str,
                      js_what: &str,
                      path: &str,
                      pairs: &[(compare::Measured, compare::Measured); 2]| {
        let how = format!(
            "`{WRK} -H '<MF-CF-Blob>' <edge>{path}`, {} rounds alternated with the JavaScript \
             worker (wrangler dev: {}), median; `cargo xtask bench --only throughput`",
            ROUNDS[0], ROUNDS[1]
        );
        let judged = ratio(&pairs[0]);
        vec![
            Line {
                what: what.into(),
                value: rate(&pairs[0].0),
                dev: rate(&pairs[1].0),
                how: how.clone(),
                ..Line::default()
            },
            Line {
                what: js_what.into(),
                value: format!("{} (roam ÷ JS = {:.0}%)", rate(&pairs[0].1), 100.0 * judged),
                dev: format!(
                    "{} (roam ÷ JS = {:.0}%)",
                    rate(&pairs[1].1),
                    100.0 * ratio(&pairs[1])
                ),
                how,
                target: format!("roam ≥ 70% of JS in plain workerd: {}", met(judged >= 0.7)),
            },
        ]
    };
    let mut lines = pair_lines(
        "edge `/ping` (Rust → Wasm)",
        "JavaScript worker, same answer",
        "/ping",
        &f.ping,
    );
    lines.extend(pair_lines(
        "cached vehicle list (edge cache hits)",
        "JavaScript worker, same Cache API lookup",
        "/api/v1/cities/new-york/vehicles?status=available",
        &f.hits,
    ));
    lines
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
            met(kib <= 300.0)
        );
    }
    Ok(lines)
}
