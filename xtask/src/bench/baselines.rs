//! The JavaScript baselines the edge is measured against, each doing the same work as the
//! edge's path it stands for: `/ping` (`baseline/ping.js`: the same answer, nearest region by
//! great-circle distance from `request.cf`) and a cached vehicle read (`baseline/cache_hit.js`:
//! the same Cache API lookup, metadata and answer headers). Each runs in the runtime the edge
//! it is compared with runs in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};
use roam_shared::RegionMap;
use roam_stack::edge::workspace_root;
use roam_stack::process::{free_port, wait_until_ok, ManagedChild};
use roam_stack::workerd_edge::{WorkerdEdge, WorkerdEdgeOptions, COMPATIBILITY_DATE};
use serde_json::{json, Value};

use super::edges::Runtime;

const PING: &str = include_str!("baseline/ping.js");
const CACHE_HIT: &str = include_str!("baseline/cache_hit.js");

/// Which baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Baseline {
    /// `/ping`.
    Ping,
    /// Cached vehicle reads; `UPSTREAM` (roam's edge) fills its cache.
    CacheHit,
}

/// A running baseline (workerd's handle boxed: it carries its options, far larger than the
/// other variant).
pub(super) enum RunningBaseline {
    Workerd(Box<WorkerdEdge>),
    WranglerDev { port: u16, _child: ManagedChild },
}

impl RunningBaseline {
    pub(super) fn url(&self) -> String {
        match self {
            RunningBaseline::Workerd(edge) => edge.url(),
            RunningBaseline::WranglerDev { port, .. } => format!("http://127.0.0.1:{port}"),
        }
    }

    /// workerd's process, when it runs alone (for CPU accounting).
    pub(super) fn workerd_pid(&self) -> Option<u32> {
        match self {
            RunningBaseline::Workerd(edge) => Some(edge.pid()),
            RunningBaseline::WranglerDev { .. } => None,
        }
    }
}

/// Writes the baseline's script into `dir` and starts it; `upstream` is roam's edge (for
/// [`Baseline::CacheHit`]).
pub(super) async fn start(
    baseline: Baseline,
    runtime: Runtime,
    dir: &Path,
    upstream: &str,
) -> Result<RunningBaseline> {
    std::fs::create_dir_all(dir)?;
    let (name, source, ready) = match baseline {
        Baseline::Ping => ("js-ping", ping_script(RegionMap::builtin()), "/ping"),
        Baseline::CacheHit => (
            "js-cache-hit",
            CACHE_HIT.to_string(),
            "/api/v1/cities/new-york/vehicles",
        ),
    };
    let script = dir.join(format!("{name}.js"));
    std::fs::write(&script, source)?;
    let vars = BTreeMap::from([("UPSTREAM".to_string(), upstream.to_string())]);
    match runtime {
        Runtime::Workerd => {
            let mut options = WorkerdEdgeOptions::script(name, &script, ready);
            options.vars = vars;
            Ok(RunningBaseline::Workerd(Box::new(
                WorkerdEdge::start(options).await?,
            )))
        }
        Runtime::WranglerDev => wrangler_dev(name, dir, &script, &vars, ready).await,
    }
}

/// The ping baseline with the region map written in.
fn ping_script(map: &RegionMap) -> String {
    let regions: Vec<Value> = map
        .regions
        .iter()
        .map(|r| json!({"name": r.name, "lat": r.lat, "lon": r.lon}))
        .collect();
    PING.replace("__REGIONS__", &Value::from(regions).to_string())
}

/// The baseline under its own `wrangler dev`, the way roam's edge runs under it.
async fn wrangler_dev(
    name: &str,
    dir: &Path,
    script: &Path,
    vars: &BTreeMap<String, String>,
    ready: &str,
) -> Result<RunningBaseline> {
    let mut toml =
        format!(
        "name = \"{name}\"\nmain = \"{}\"\ncompatibility_date = \"{COMPATIBILITY_DATE}\"\n[vars]\n",
        script.file_name().and_then(|n| n.to_str()).context("script name")?
    );
    for (key, value) in vars {
        toml.push_str(&format!("{key} = {}\n", Value::from(value.as_str())));
    }
    let config = dir.join(format!("{name}.toml"));
    std::fs::write(&config, toml)?;
    let port = free_port()?;
    let mut command = Command::new(wrangler());
    command
        .current_dir(dir)
        .args(["dev", "--config"])
        .arg(&config)
        .args(["--ip", "127.0.0.1", "--port", &port.to_string()])
        .args(["--inspector-port", &free_port()?.to_string()])
        .arg("--persist-to")
        .arg(dir.join(format!("{name}-state")))
        // The same log level as roam's edge under wrangler dev (a line per request).
        .args([
            "--show-interactive-dev-session=false",
            "--log-level",
            "info",
        ])
        .env("WRANGLER_SEND_METRICS", "false")
        .env("NO_COLOR", "1");
    let log = dir.join(format!("{name}-wrangler.log"));
    let child = ManagedChild::spawn(name, command, &log)?;
    wait_until_ok(
        &format!("http://127.0.0.1:{port}{ready}"),
        Duration::from_secs(90),
    )
    .await
    .with_context(|| format!("{name} under wrangler dev; see {}", log.display()))?;
    Ok(RunningBaseline::WranglerDev {
        port,
        _child: child,
    })
}

fn wrangler() -> PathBuf {
    workspace_root().join("node_modules/.bin/wrangler")
}
