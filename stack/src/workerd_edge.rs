//! A Worker run as production runs it: plain `workerd serve`, the Worker alone on its socket,
//! with a Cache API behind it.
//!
//! `wrangler dev` puts a proxy worker of its own (and miniflare an entry worker) in front of
//! the Worker, which costs every request a few milliseconds and halves a small Worker's
//! throughput: that measures the development tool, not the product. Here a generated capnp
//! config gives workerd three services: the Worker, bound to a socket with nothing between;
//! `internet` for its outbound fetches (loopback allowed: the origins are local); and `cache`,
//! the Worker's `cacheApiOutbound` — a small in-memory cache service (`workerd_edge/cache.js`)
//! that plays the CDN cache: a separate, fast lookup, as in production. `request.cf` comes
//! from the `MF-CF-Blob` header (JSON) through the socket's `cfBlobHeader` option: that is how
//! plain workerd sets `cf`, and the header name matches wrangler dev's, so tests and the bench
//! talk to either edge alike. wrangler.toml's `[[ratelimits]]` become wrapped bindings
//! (`workerd_edge/ratelimit.js`, counting per key in fixed windows as Cloudflare's do), so the
//! edge limits sign-ups and log-ins here as it does in production.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::edge::{reap_group_when_gone, workspace_root, EdgeOptions};
use crate::process::{free_port, wait_until_ok, ManagedChild};

mod config;

/// The compatibility date of wrangler.toml (the JavaScript baselines use it too).
pub const COMPATIBILITY_DATE: &str = "2025-11-01";

/// The cache service (see the module's doc).
const CACHE_SERVICE: &str = include_str!("workerd_edge/cache.js");

/// The rate-limiting bindings' module (see the module's doc).
const RATE_LIMIT_MODULE: &str = include_str!("workerd_edge/ratelimit.js");

/// One rate-limiting binding: at most `limit` requests per key in each `period_secs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    pub binding: String,
    pub limit: u32,
    pub period_secs: u32,
}

/// How long workerd may take to answer the first request.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// What to run and how.
#[derive(Clone)]
pub struct WorkerdEdgeOptions {
    /// A name for logs and the temporary folder.
    pub name: String,
    /// The Worker's modules, main module first: `.js`/`.mjs` are ES modules, `.wasm` compiled
    /// Wasm (imported by the name of its file).
    pub modules: Vec<PathBuf>,
    /// Text bindings (vars).
    pub vars: BTreeMap<String, String>,
    /// Secret bindings: handed to workerd through its environment, never written to a file.
    pub secrets: BTreeMap<String, String>,
    /// A path answered 2xx once the Worker is up.
    pub ready_path: String,
    /// Port of the Worker's socket (a free one when `None`).
    pub port: Option<u16>,
    /// workerd's inspector (DevTools protocol) on this port, for CPU profiles.
    pub inspector_port: Option<u16>,
    /// Rate-limiting bindings.
    pub rate_limits: Vec<RateLimit>,
}

impl std::fmt::Debug for WorkerdEdgeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerdEdgeOptions")
            .field("name", &self.name)
            .field("modules", &self.modules)
            .field("vars", &self.vars)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .field("port", &self.port)
            .field("rate_limits", &self.rate_limits)
            .finish()
    }
}

impl WorkerdEdgeOptions {
    /// roam's edge (`build/`, built by [`crate::edge::build_edge`]) with the vars and secret an
    /// [`EdgeOptions`] gives `wrangler dev`, and wrangler.toml's rate limits.
    pub fn roam(edge: &EdgeOptions) -> Result<Self> {
        let build = workspace_root().join("build");
        let wrangler = std::fs::read_to_string(workspace_root().join("wrangler.toml"))
            .context("reading wrangler.toml")?;
        let mut vars = BTreeMap::from([
            ("ORIGINS".to_string(), edge.origins_var()?),
            ("ROAM_ENV".to_string(), "development".to_string()),
        ]);
        vars.extend(edge.vars.iter().cloned());
        Ok(Self {
            name: "roam-edge".into(),
            modules: vec![build.join("index.js"), build.join("index_bg.wasm")],
            vars,
            secrets: BTreeMap::from([("ROAM_SECRET".to_string(), edge.secret.clone())]),
            ready_path: "/ping".into(),
            port: edge.port,
            inspector_port: None,
            rate_limits: config::rate_limits(&wrangler),
        })
    }

    /// A one-module Worker, e.g. a JavaScript baseline.
    pub fn script(name: &str, script: &Path, ready_path: &str) -> Self {
        Self {
            name: name.into(),
            modules: vec![script.to_path_buf()],
            vars: BTreeMap::new(),
            secrets: BTreeMap::new(),
            ready_path: ready_path.into(),
            port: None,
            inspector_port: None,
            rate_limits: Vec::new(),
        }
    }
}

/// The workerd binary npm installed (the one wrangler runs).
pub fn workerd_binary() -> Result<PathBuf> {
    let modules = workspace_root().join("node_modules");
    let (os, arch) = (std::env::consts::OS, std::env::consts::ARCH);
    let platform = match (os, arch) {
        ("linux", "x86_64") => "linux-64",
        ("linux", "aarch64") => "linux-arm64",
        ("macos", "x86_64") => "darwin-64",
        ("macos", "aarch64") => "darwin-arm64",
        _ => bail!("no workerd package for {os}/{arch}"),
    };
    let binary = modules.join(format!("@cloudflare/workerd-{platform}/bin/workerd"));
    anyhow::ensure!(
        binary.exists(),
        "{} is missing: run `npm ci`",
        binary.display()
    );
    Ok(binary)
}

/// A running Worker; dropping it stops workerd (its folder goes when the owner exits).
#[derive(Debug)]
pub struct WorkerdEdge {
    /// The options it was started with.
    pub options: WorkerdEdgeOptions,
    port: u16,
    log: PathBuf,
    child: ManagedChild,
    /// From spawning workerd to its socket accepting connections (the Worker is loaded by
    /// then: workerd compiles and instantiates it before it listens).
    pub listening_after: Duration,
    /// The first request's round trip (`ready_path`), answered by a fresh isolate.
    pub first_request: Duration,
}

impl WorkerdEdge {
    /// Starts workerd and waits until `ready_path` answers 2xx.
    pub async fn start(options: WorkerdEdgeOptions) -> Result<Self> {
        let root = std::env::temp_dir().join(format!(
            "roam-workerd-{}-{}-{}",
            options.name,
            std::process::id(),
            free_port()?
        ));
        std::fs::create_dir_all(&root)?;
        let port = match options.port {
            Some(port) => port,
            None => free_port()?,
        };
        // capnp embeds only files beside (or below) the config: copy the modules there.
        for module in &options.modules {
            let name = module
                .file_name()
                .context("a module path without a file name")?;
            std::fs::copy(module, root.join(name))
                .with_context(|| format!("copying {}", module.display()))?;
        }
        std::fs::write(root.join("cache.js"), CACHE_SERVICE)?;
        std::fs::write(root.join("ratelimit.js"), RATE_LIMIT_MODULE)?;
        std::fs::write(root.join("config.capnp"), config::capnp(&options, port)?)?;
        let mut command = Command::new(workerd_binary()?);
        command
            .current_dir(&root)
            .args(["serve", "config.capnp", "--verbose"])
            .envs(&options.secrets);
        if let Some(inspector) = options.inspector_port {
            command.arg(format!("--inspector-addr=127.0.0.1:{inspector}"));
        }
        let log = root.join("workerd.log");
        let spawned = Instant::now();
        let child = ManagedChild::spawn(&format!("workerd ({})", options.name), command, &log)?;
        reap_group_when_gone(std::process::id(), child.pid(), Some(&root))?;
        let mut edge = Self {
            options,
            port,
            log,
            child,
            listening_after: Duration::ZERO,
            first_request: Duration::ZERO,
        };
        edge.listening_after = edge.wait_for_socket(spawned).await?;
        let ready = format!("{}{}", edge.url(), edge.options.ready_path);
        let asked = Instant::now();
        let first = reqwest::Client::new().get(&ready).send().await;
        edge.first_request = asked.elapsed();
        if !first.is_ok_and(|r| r.status().is_success()) {
            wait_until_ok(&ready, START_TIMEOUT)
                .await
                .with_context(|| format!("workerd's log ends:\n{}", edge.log_tail(30)))?;
        }
        Ok(edge)
    }

    /// Polls the socket every 2 ms until it accepts a connection; the time since `spawned`.
    async fn wait_for_socket(&mut self, spawned: Instant) -> Result<Duration> {
        while spawned.elapsed() < START_TIMEOUT {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return Ok(spawned.elapsed());
            }
            if self.child.has_exited() {
                bail!(
                    "workerd exited while starting; its log ends:\n{}",
                    self.log_tail(30)
                );
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        bail!(
            "workerd did not listen within {START_TIMEOUT:?}; its log ends:\n{}",
            self.log_tail(30)
        )
    }

    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// workerd's process id (for CPU accounting).
    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// The last `lines` lines of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        crate::process::log_tail(&self.log, lines)
    }

    /// Stops workerd.
    pub fn stop(&mut self) {
        self.child.stop(Duration::from_secs(5));
    }
}
