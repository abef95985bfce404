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

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

mod build;
mod options;

pub use crate::process::reap_group_when_gone;
use crate::process::{free_port, log_tail, ManagedChild};
pub use build::{build_edge, build_edge_as, workspace_root, EdgeProfile};
pub use options::EdgeOptions;

/// How long a client of a local edge keeps an idle connection for reuse. wrangler dev's
/// workerd closes a keep-alive connection after 5 s idle (measured); a client that sends on
/// one just as it closes gets a transport error instead of an answer (the `--as` front once
/// answered the browser test 502 for a script that way, after a 5 s pause between pages).
/// Dropping idle connections well before the edge does removes that race.
pub const CLIENT_IDLE_REUSE: Duration = Duration::from_secs(2);

/// How long wrangler may take to answer `/ping` (a cold start bundles and boots workerd).
const START_TIMEOUT: Duration = Duration::from_secs(90);

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
    let command = wrangler_dev(&options, &wrangler, &root, port, &env_file)?;
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

/// The `wrangler dev` command for `options`: on `port`, with the Worker's vars, the secret in
/// `env_file` and the build it was given (rebuilt on change only when asked).
fn wrangler_dev(
    options: &EdgeOptions,
    wrangler: &Path,
    root: &Path,
    port: u16,
    env_file: &Path,
) -> Result<Command> {
    let origins = options.origins_var()?;
    let mut command = Command::new(wrangler);
    command
        .current_dir(root)
        .args(["dev", "--ip", "127.0.0.1", "--port", &port.to_string()])
        .args(["--inspector-port", &free_port()?.to_string()])
        .arg("--persist-to")
        .arg(options.root.join("state"))
        .arg("--env-file")
        .arg(env_file)
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
    Ok(command)
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
