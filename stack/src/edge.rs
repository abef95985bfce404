//! The edge worker under `wrangler dev` (real workerd), for the dev command, the end-to-end
//! tests and the bench.
//!
//! [`build_edge`] builds the Worker once (and not at all when `build/` is newer than every
//! source it comes from); [`start_edge`] then starts wrangler with `ROAM_EDGE_PREBUILT=1`, which
//! turns wrangler.toml's `[build] command` into a no-op, so many instances can start side by
//! side without rebuilding or racing. Each instance gets free ports, its own persistence folder
//! (so Cache API entries never leak between tests or runs) and a log file; its process group
//! (wrangler and workerd) dies with the [`EdgeProcess`], and a reaper kills it if the owning
//! process dies without dropping it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{anyhow, bail, Context, Result};

pub use crate::process::reap_group_when_gone;
use crate::process::{free_port, run, ManagedChild};

/// How long wrangler may take to answer `/ping` (a cold start bundles and boots workerd).
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// How to start an edge.
#[derive(Clone)]
pub struct EdgeOptions {
    /// Region → origin base URL: the Worker's `ORIGINS` var.
    pub origins: BTreeMap<String, String>,
    /// Region → several origin base URLs (the region's pool); a region listed here is given
    /// to the Worker as this list instead of its entry in `origins`.
    pub origin_pools: BTreeMap<String, Vec<String>>,
    /// The secret shared with the origins (passed through an env file, not the command line).
    pub secret: String,
    /// Port to listen on (a free one when `None`).
    pub port: Option<u16>,
    /// Further vars, e.g. `ORIGIN_TIMEOUT_MS`.
    pub vars: Vec<(String, String)>,
    /// Persistence (Cache API), the env file and the log live here.
    pub root: PathBuf,
    /// Delete `root` once the owning process exits (throwaway test edges).
    pub remove_root_on_exit: bool,
    /// Let wrangler's watcher rebuild the Worker when `edge/` or `shared/` change (the dev
    /// command); tests keep the build they started with.
    pub rebuild_on_change: bool,
    /// The build to run (and to rebuild on change).
    pub profile: EdgeProfile,
}

impl std::fmt::Debug for EdgeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeOptions")
            .field("origins", &self.origins)
            .field("origin_pools", &self.origin_pools)
            .field("secret", &"<redacted>")
            .field("port", &self.port)
            .field("vars", &self.vars)
            .field("root", &self.root)
            .field("remove_root_on_exit", &self.remove_root_on_exit)
            .field("rebuild_on_change", &self.rebuild_on_change)
            .field("profile", &self.profile)
            .finish()
    }
}

impl EdgeOptions {
    /// Options for an edge whose origins are `origins`, rooted in a fresh temporary folder.
    pub fn new(name: &str, origins: BTreeMap<String, String>, secret: &str) -> Self {
        let root = std::env::temp_dir().join(format!("roam-edge-{name}-{}", std::process::id()));
        Self {
            origins,
            origin_pools: BTreeMap::new(),
            secret: secret.to_string(),
            port: None,
            vars: Vec::new(),
            root,
            remove_root_on_exit: true,
            rebuild_on_change: false,
            profile: EdgeProfile::Release,
        }
    }

    /// Options for an edge with no origin listening (pings, the edge's own routes), e.g. for
    /// tests that need no database.
    pub fn without_origins(name: &str) -> Result<Self> {
        let map = roam_shared::RegionMap::builtin();
        let mut origins = BTreeMap::new();
        for region in &map.regions {
            // A port that was free a moment ago: connections to it are refused.
            origins.insert(
                region.name.clone(),
                format!("http://127.0.0.1:{}", free_port()?),
            );
        }
        Ok(Self::new(name, origins, roam_shared::signature::DEV_SECRET))
    }

    /// Options for an edge whose regions are each served by a pool of origins (e.g.
    /// `Stack::origin_pools`).
    pub fn with_pools(name: &str, pools: BTreeMap<String, Vec<String>>, secret: &str) -> Self {
        let first = pools
            .iter()
            .filter_map(|(region, pool)| Some((region.clone(), pool.first()?.clone())))
            .collect();
        Self {
            origin_pools: pools,
            ..Self::new(name, first, secret)
        }
    }

    /// The Worker's `ORIGINS` var: a region with a pool of several origins as a list, else
    /// as its one URL.
    pub fn origins_var(&self) -> Result<String> {
        let mut value = serde_json::Map::new();
        for (region, url) in &self.origins {
            value.insert(region.clone(), url.clone().into());
        }
        for (region, pool) in &self.origin_pools {
            let entry = match pool.as_slice() {
                [] => continue,
                [one] => one.clone().into(),
                many => many.to_vec().into(),
            };
            value.insert(region.clone(), entry);
        }
        Ok(serde_json::to_string(&value)?)
    }

    /// The log file of the edge's wrangler and workerd.
    pub fn log_file(&self) -> PathBuf {
        self.root.join("wrangler.log")
    }
}

/// The repository root (where wrangler.toml is).
pub fn workspace_root() -> PathBuf {
    let stack_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    stack_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or(stack_dir)
}

/// Which build of the Worker (scripts/build-edge.sh's `ROAM_EDGE_PROFILE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EdgeProfile {
    /// Optimised for size and speed (wasm-opt): the tests, the bench, deploy.
    #[default]
    Release,
    /// Quick to build, for `cargo xtask dev`'s edit → reload loop.
    Dev,
}

impl EdgeProfile {
    /// The value of `ROAM_EDGE_PROFILE` (and of `build/.profile`).
    pub fn name(self) -> &'static str {
        match self {
            EdgeProfile::Release => "release",
            EdgeProfile::Dev => "dev",
        }
    }
}

/// Builds the release edge into `build/` unless it is already there and newer than its
/// sources; at most once per process, other callers wait for it. Blocking: call it from
/// `spawn_blocking` in async code.
pub fn build_edge() -> Result<()> {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    BUILT
        .get_or_init(|| build_edge_as(EdgeProfile::Release).map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(|e| anyhow!(e))
}

/// Builds the edge with `profile` unless `build/` already holds that build, newer than its
/// sources. Blocking.
pub fn build_edge_as(profile: EdgeProfile) -> Result<()> {
    let root = workspace_root();
    if is_fresh(&root, profile) {
        return Ok(());
    }
    run(
        "building the edge (scripts/build-edge.sh)",
        Command::new(root.join("scripts/build-edge.sh"))
            .current_dir(&root)
            .env("ROAM_EDGE_PROFILE", profile.name())
            .env_remove("ROAM_EDGE_PREBUILT"),
    )?;
    Ok(())
}

/// Whether build/ holds the `profile` build, newer than everything it is built from.
fn is_fresh(root: &Path, profile: EdgeProfile) -> bool {
    let marker = std::fs::read_to_string(root.join("build/.profile")).unwrap_or_default();
    if marker.trim() != profile.name() {
        return false;
    }
    let built = [
        root.join("build/index.js"),
        root.join("build/index_bg.wasm"),
    ]
    .iter()
    .map(|p| modified(p))
    .min()
    .flatten();
    let Some(built) = built else {
        return false;
    };
    let sources = [
        root.join("edge"),
        root.join("shared"),
        root.join("Cargo.lock"),
        root.join("Cargo.toml"),
        root.join("scripts/build-edge.sh"),
        root.join("scripts/plain-handler.mjs"),
    ];
    sources
        .iter()
        .all(|s| newest_in(s).is_some_and(|t| t <= built))
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The newest modification time of a file or of the files under a folder (skipping `assets`,
/// which wrangler serves as they are, and build output).
fn newest_in(path: &Path) -> Option<SystemTime> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    let mut newest = meta.modified().ok()?;
    for entry in std::fs::read_dir(path).ok()?.flatten() {
        let name = entry.file_name();
        if name == "assets" || name == "target" || name == "build" {
            continue;
        }
        newest = newest.max(newest_in(&entry.path())?);
    }
    Some(newest)
}

/// A running edge; dropping it stops wrangler and workerd.
#[derive(Debug)]
pub struct EdgeProcess {
    /// The options it was started with.
    pub options: EdgeOptions,
    port: u16,
    child: ManagedChild,
}

impl EdgeProcess {
    /// The process group of wrangler and its workerd.
    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// Base URL, e.g. `http://127.0.0.1:8787`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The last `lines` lines of its log (for failure messages).
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.options.log_file(), lines)
    }

    /// Stops wrangler and workerd (the whole process group).
    pub fn stop(&mut self) {
        self.child.stop(Duration::from_secs(5));
    }
}

fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Builds the edge if needed, starts `wrangler dev` on free ports and waits until `/ping`
/// answers.
pub async fn start_edge(options: EdgeOptions) -> Result<EdgeProcess> {
    let profile = options.profile;
    tokio::task::spawn_blocking(move || match profile {
        EdgeProfile::Release => build_edge(),
        EdgeProfile::Dev => build_edge_as(profile),
    })
    .await
    .context("the edge build task panicked")??;
    let root = workspace_root();
    let wrangler = root.join("node_modules/.bin/wrangler");
    anyhow::ensure!(
        wrangler.exists(),
        "{} is missing: run `npm ci`",
        wrangler.display()
    );
    std::fs::create_dir_all(&options.root)
        .with_context(|| format!("creating {}", options.root.display()))?;
    let env_file = options.root.join("secrets.env");
    std::fs::write(&env_file, format!("ROAM_SECRET={}\n", options.secret))
        .context("writing the edge's env file")?;
    let port = match options.port {
        Some(port) => port,
        None => free_port()?,
    };
    let origins = options.origins_var()?;
    let mut command = Command::new(&wrangler);
    command
        .current_dir(&root)
        .args(["dev", "--ip", "127.0.0.1", "--port", &port.to_string()])
        .args(["--inspector-port", &free_port()?.to_string()])
        .arg("--persist-to")
        .arg(options.root.join("state"))
        .arg("--env-file")
        .arg(&env_file)
        .args([
            "--show-interactive-dev-session=false",
            "--log-level",
            "info",
        ])
        .args(["--var", &format!("ORIGINS:{origins}")])
        .args(["--var", "ROAM_ENV:development"]);
    for (name, value) in &options.vars {
        command.args(["--var", &format!("{name}:{value}")]);
    }
    if !options.rebuild_on_change {
        command.env("ROAM_EDGE_PREBUILT", "1");
    }
    // wrangler's [build] command (scripts/build-edge.sh) rebuilds with this profile.
    command.env("ROAM_EDGE_PROFILE", options.profile.name());
    command
        .env("WRANGLER_SEND_METRICS", "false")
        .env("NO_COLOR", "1");
    let log = options.log_file();
    let child = ManagedChild::spawn("wrangler dev", command, &log)?;
    let doomed = options
        .remove_root_on_exit
        .then_some(options.root.as_path());
    reap_group_when_gone(std::process::id(), child.pid(), doomed)?;
    let mut edge = EdgeProcess {
        options,
        port,
        child,
    };
    wait_for_ping(&mut edge).await?;
    Ok(edge)
}

async fn wait_for_ping(edge: &mut EdgeProcess) -> Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    let url = format!("{}/ping", edge.url());
    let deadline = Instant::now() + START_TIMEOUT;
    let mut last = String::from("no answer yet");
    while Instant::now() < deadline {
        if edge.child.has_exited() {
            bail!(
                "wrangler dev exited while starting; its log ends:\n{}",
                edge.log_tail(30)
            );
        }
        match client.get(&url).send().await {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) => last = format!("status {}", r.status()),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    edge.stop();
    bail!(
        "the edge did not answer {url} within {START_TIMEOUT:?} (last: {last}); its log ends:\n{}",
        edge.log_tail(30)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_with_a_pool_is_given_as_a_list_and_the_others_as_one_url() {
        let pools = BTreeMap::from([
            (
                "eu-west".to_string(),
                vec!["http://a".into(), "http://b".into()],
            ),
            ("us-east".to_string(), vec!["http://c".into()]),
        ]);
        let options = EdgeOptions::with_pools("var", pools, "s");
        assert_eq!(options.origins["eu-west"], "http://a");
        let var: serde_json::Value =
            serde_json::from_str(&options.origins_var().expect("a var")).expect("JSON");
        assert_eq!(
            var,
            serde_json::json!({"eu-west": ["http://a", "http://b"], "us-east": "http://c"})
        );
    }
}
