//! One PostgreSQL node per region, started from the system's PostgreSQL binaries.
//!
//! Each node has its own data directory and port on 127.0.0.1, trust authentication for the
//! superuser `postgres` on loopback (local development only), and runs as an unprivileged OS
//! user ([`server`]). A region can instead run a primary and a standby under pg_auto_failover:
//! that is [`crate::ha`], which reuses the helpers here.

mod reaper;
pub mod secure;
pub mod server;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use roam_shared::RegionMap;

use crate::process::{free_port, log_tail, run};

pub use reaper::{reap_servers_when_gone, reap_when_gone, test_cluster};
pub use server::bin_dir;
use server::{hand_to_server_user, server_command};

/// Settings for every node: sized for several nodes on a 2-core laptop. `fsync=off` only
/// risks data on an OS crash; a killed postgres still loses no committed transaction.
pub(crate) const NODE_SETTINGS: &[&str] = &[
    "listen_addresses=127.0.0.1",
    "unix_socket_directories=",
    "max_connections=300",
    "shared_buffers=64MB",
    "fsync=off",
    "full_page_writes=off",
    "max_prepared_transactions=0",
    "log_min_messages=warning",
    "log_min_error_statement=panic",
    // Which node ran which statement, for tests that prove a request stayed local.
    "shared_preload_libraries=pg_stat_statements",
    "pg_stat_statements.track=all",
    // Tests share a node between many databases, each migrated with hundreds of distinct DDL
    // statements: past `max` entries PostgreSQL evicts the least used, and a statement counted
    // once (a test's one look-up) would be forgotten and counted again from one.
    "pg_stat_statements.track_utility=off",
    "pg_stat_statements.max=20000",
];

/// One region's database node.
#[derive(Debug, Clone)]
pub struct PgNode {
    /// The region whose rows this node stores.
    pub region: String,
    /// TCP port on 127.0.0.1.
    pub port: u16,
    /// Data directory (owned by the server's OS user).
    pub data_dir: PathBuf,
    /// Server log.
    pub log_file: PathBuf,
}

/// All nodes of one roam database, one per region of the map.
#[derive(Debug)]
pub struct PgCluster {
    /// The nodes, in map order.
    pub nodes: Vec<PgNode>,
}

impl PgCluster {
    /// Starts a node per region under `root/<region>` on free ports (initialising data
    /// directories that do not exist yet).
    pub async fn start(root: &Path, map: &RegionMap) -> Result<PgCluster> {
        let ports = map
            .regions
            .iter()
            .map(|_| free_port())
            .collect::<Result<Vec<_>>>()?;
        Self::start_on(root, map, &ports).await
    }

    /// Like [`PgCluster::start`] with given ports (in map order).
    pub async fn start_on(root: &Path, map: &RegionMap, ports: &[u16]) -> Result<PgCluster> {
        let regions = map.regions.iter().map(|r| r.name.clone());
        Self::start_nodes(root, regions.zip(ports.iter().copied()).collect()).await
    }

    /// Starts a node for each `(region, port)` under `root/<region>` (initialising data
    /// directories that do not exist yet), in the order given.
    pub async fn start_nodes(root: &Path, nodes: Vec<(String, u16)>) -> Result<PgCluster> {
        let root = root.to_path_buf();
        tokio::task::spawn_blocking(move || {
            let mut started = Vec::new();
            for (region, port) in nodes {
                let node = PgNode {
                    log_file: root.join(format!("{region}.log")),
                    data_dir: root.join(&region),
                    region,
                    port,
                };
                node.init()?;
                node.start()?;
                started.push(node);
            }
            Ok(PgCluster { nodes: started })
        })
        .await?
    }

    /// The node of a region.
    pub fn node(&self, region: &str) -> Option<&PgNode> {
        self.nodes.iter().find(|n| n.region == region)
    }

    /// Stops every node (fast shutdown: sessions are ended, committed data kept).
    pub fn stop(&self) {
        for node in &self.nodes {
            let _ = node.stop();
        }
    }
}

impl PgNode {
    /// The connection URL of a database on this node.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates a database (fails if it exists).
    pub async fn create_database(&self, name: &str) -> Result<()> {
        self.psql_admin(format!("CREATE DATABASE \"{}\"", ident(name)?))
            .await
    }

    /// Creates a database unless it exists.
    pub async fn ensure_database(&self, name: &str) -> Result<()> {
        ensure_database(&self.url("postgres"), name).await
    }

    /// Drops a database, ending its sessions first.
    pub async fn drop_database(&self, name: &str) -> Result<()> {
        self.psql_admin(format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            ident(name)?
        ))
        .await
    }

    /// Initialises the data directory if it has none.
    pub fn init(&self) -> Result<()> {
        if self.data_dir.join("PG_VERSION").exists() {
            return Ok(());
        }
        std::fs::create_dir_all(&self.data_dir)?;
        hand_to_server_user(&self.data_dir)?;
        if let Some(parent) = self.log_file.parent() {
            hand_to_server_user(parent)?;
        }
        run(
            "initdb",
            server_command("initdb")?
                .arg("-D")
                .arg(&self.data_dir)
                .args([
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "-N",
                ]),
        )?;
        Ok(())
    }

    /// Starts the server and waits until it accepts connections. A server left running by
    /// an earlier run that was killed is stopped first (its port may be another one).
    pub fn start(&self) -> Result<()> {
        if self.is_running() {
            self.stop()?;
        }
        let mut options = format!("-p {}", self.port);
        for setting in NODE_SETTINGS {
            options.push_str(&format!(" -c {setting}"));
        }
        run(
            &format!("starting PostgreSQL for {}", self.region),
            server_command("pg_ctl")?
                .arg("start")
                .arg("-D")
                .arg(&self.data_dir)
                .arg("-l")
                .arg(&self.log_file)
                .args(["-w", "-t", "60", "-o", &options]),
        )
        .with_context(|| {
            format!(
                "{} ends:\n{}",
                self.log_file.display(),
                log_tail(&self.log_file, 20)
            )
        })?;
        Ok(())
    }

    /// Stops the server (fast: sessions ended, committed data kept).
    pub fn stop(&self) -> Result<()> {
        run(
            &format!("stopping PostgreSQL for {}", self.region),
            server_command("pg_ctl")?
                .arg("stop")
                .arg("-D")
                .arg(&self.data_dir)
                .args(["-m", "fast", "-w", "-t", "60"]),
        )?;
        Ok(())
    }

    /// Whether a server is running on this data directory.
    pub fn is_running(&self) -> bool {
        server_command("pg_ctl")
            .map(|mut c| {
                c.arg("status")
                    .arg("-D")
                    .arg(&self.data_dir)
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status()
                    .map(|s| s.success())
                    .unwrap_or(false)
            })
            .unwrap_or(false)
    }

    async fn psql_admin(&self, sql: String) -> Result<()> {
        self.psql_query(sql).await.map(|_| ())
    }

    /// Runs one SQL statement on the `postgres` database; returns unaligned tuples.
    pub async fn psql_query(&self, sql: String) -> Result<String> {
        self.psql(&self.url("postgres"), sql).await
    }

    /// Runs SQL against `url` with psql; returns unaligned, tuples-only output.
    pub async fn psql(&self, url: &str, sql: String) -> Result<String> {
        psql(url, sql).await
    }
}

/// Runs SQL against `url` (a libpq URL: multi-host ones too) with psql; returns unaligned,
/// tuples-only output, or fails with psql's message.
pub async fn psql(url: &str, sql: String) -> Result<String> {
    let url = url.to_string();
    tokio::task::spawn_blocking(move || {
        run(
            "psql",
            Command::new("psql")
                .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d"])
                .arg(&url)
                .arg("-c")
                .arg(&sql),
        )
    })
    .await?
}

/// Creates database `name` on the server `admin_url` points at, unless it exists.
pub async fn ensure_database(admin_url: &str, name: &str) -> Result<()> {
    let name = ident(name)?;
    let exists = psql(
        admin_url,
        format!("SELECT 1 FROM pg_database WHERE datname = '{name}'"),
    )
    .await?;
    if exists.trim() != "1" {
        psql(admin_url, format!("CREATE DATABASE \"{name}\"")).await?;
    }
    Ok(())
}

/// Accepts only plain identifiers (what test and dev database names are).
fn ident(name: &str) -> Result<&str> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !ok {
        bail!("`{name}` is not a plain database name");
    }
    Ok(name)
}
