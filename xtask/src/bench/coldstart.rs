//! Cold start in plain workerd, roam's edge against the JavaScript `/ping` worker: from
//! spawning workerd to its socket listening (workerd compiles and instantiates the Worker
//! before it listens: for roam, the Wasm module and the wasm-bindgen glue), the first
//! request's round trip (a fresh isolate: Wasm functions are compiled lazily, on first call),
//! and a later one for comparison. Each request on a new connection, rounds alternated,
//! medians. Cloudflare charges a cold start by bundle size, hence the gzip rows beside these.

use std::time::{Duration, Instant};

use anyhow::Result;
use roam_stack::edge::EdgeOptions;
use roam_stack::workerd_edge::{WorkerdEdge, WorkerdEdgeOptions};

use super::baselines::{self, Baseline, RunningBaseline};
use super::compare::median;
use super::edges::Runtime;
use super::line::Line;

const ROUNDS: usize = 3;

/// Milliseconds: listening, first request, a later request.
type Start = [f64; 3];

pub(super) async fn measure() -> Result<Vec<Line>> {
    let dir = std::env::temp_dir().join(format!("roam-bench-cold-{}", std::process::id()));
    let mut roam: Vec<Start> = Vec::new();
    let mut js: Vec<Start> = Vec::new();
    for _ in 0..ROUNDS {
        let options = WorkerdEdgeOptions::roam(&EdgeOptions::without_origins("cold")?)?;
        let edge = WorkerdEdge::start(options).await?;
        roam.push(figures(&edge).await?);
        drop(edge);
        if let RunningBaseline::Workerd(edge) =
            baselines::start(Baseline::Ping, Runtime::Workerd, &dir, "").await?
        {
            js.push(figures(&edge).await?);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let column =
        |starts: &[Start], i: usize| median(&starts.iter().map(|s| s[i]).collect::<Vec<_>>());
    let line = |what: &str, starts: &[Start]| Line {
        what: what.into(),
        value: format!(
            "listening after {:.0} ms; first `/ping` {:.1} ms; a later one {:.1} ms",
            column(starts, 0),
            column(starts, 1),
            column(starts, 2)
        ),
        how: format!(
            "spawn `workerd serve` → socket accepts; then `/ping`, each on a new connection; \
             {ROUNDS} rounds alternated, medians (xtask/src/bench/coldstart.rs)"
        ),
        ..Line::default()
    };
    Ok(vec![
        line("cold start, roam edge (plain workerd)", &roam),
        line("cold start, JavaScript `/ping` worker (plain workerd)", &js),
    ])
}

async fn figures(edge: &WorkerdEdge) -> Result<Start> {
    let url = format!("{}/ping", edge.url());
    let mut later = Vec::new();
    for _ in 0..5 {
        let asked = Instant::now();
        reqwest::Client::new()
            .get(&url)
            .send()
            .await?
            .error_for_status()?;
        later.push(ms(asked.elapsed()));
    }
    Ok([
        ms(edge.listening_after),
        ms(edge.first_request),
        median(&later),
    ])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
