//! One PostgreSQL node per region, started from the system's PostgreSQL binaries.
//!
//! Each node has its own data directory and port on 127.0.0.1, trust authentication for the
//! superuser `postgres` on loopback (local development only), and runs as an unprivileged OS
//! user: `initdb` refuses to run as root, so as root every server command goes through
//! `runuser -u postgres`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{bail, Context, Result};
use roam_shared::RegionMap;

use crate::process::{free_port, run};

/// Settings for every node: sized for several nodes on a 2-core laptop. `fsync=off` only
/// risks data on an OS crash; a killed postgres still loses no committed transaction.
const NODE_SETTINGS: &[&str] = &[
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
        let root = root.to_path_buf();
        let regions: Vec<String> = map.regions.iter().map(|r| r.name.clone()).collect();
        let ports = ports.to_vec();
        tokio::task::spawn_blocking(move || {
            let mut nodes = Vec::new();
            for (region, port) in regions.into_iter().zip(ports) {
                let data_dir = root.join(&region);
                let node = PgNode {
                    log_file: root.join(format!("{region}.log")),
                    region,
                    port,
                    data_dir,
                };
                node.init()?;
                node.start()?;
                nodes.push(node);
            }
            Ok(PgCluster { nodes })
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
        let name = ident(name)?;
        let exists = self
            .psql_query(format!(
                "SELECT 1 FROM pg_database WHERE datname = '{name}'"
            ))
            .await?;
        if exists.trim() == "1" {
            return Ok(());
        }
        self.create_database(name).await
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
        .with_context(|| format!("see {}", self.log_file.display()))?;
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

/// Directory with the PostgreSQL server binaries (`pg_config --bindir`, else Debian's path).
pub fn bin_dir() -> Result<PathBuf> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    let found = DIR.get_or_init(|| {
        let from_pg_config = Command::new("pg_config")
            .arg("--bindir")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
            .filter(|dir| dir.join("initdb").exists());
        from_pg_config.or_else(|| {
            let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path().join("bin"))
                .filter(|dir| dir.join("initdb").exists())
                .collect();
            candidates.sort();
            candidates.pop()
        })
    });
    found.clone().context(
        "PostgreSQL server binaries not found (no initdb): run `cargo xtask bootstrap`, \
         or install the `postgresql` package",
    )
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The OS user that runs servers when we are root.
const SERVER_USER: &str = "postgres";

/// A command for a server binary, run as [`SERVER_USER`] when we are root.
fn server_command(binary: &str) -> Result<Command> {
    let path = bin_dir()?.join(binary);
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", SERVER_USER, "--"]).arg(path);
        Ok(command)
    } else {
        Ok(Command::new(path))
    }
}

/// Makes a directory the server user's (as root); a no-op otherwise.
fn hand_to_server_user(dir: &Path) -> Result<()> {
    if !is_root() {
        return Ok(());
    }
    run(
        "chown",
        Command::new("chown")
            .arg(format!("{SERVER_USER}:"))
            .arg(dir),
    )?;
    Ok(())
}

/// One cluster per test process, started on first use and stopped by a reaper process
/// once the test process exits (however it exits: statics are never dropped).
pub async fn test_cluster() -> &'static PgCluster {
    static CLUSTER: tokio::sync::OnceCell<PgCluster> = tokio::sync::OnceCell::const_new();
    CLUSTER
        .get_or_init(|| async {
            let root = std::env::temp_dir().join(format!("roam-test-pg-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&root);
            let cluster = match PgCluster::start(&root, RegionMap::builtin()).await {
                Ok(cluster) => cluster,
                Err(e) => panic!("could not start the test PostgreSQL cluster: {e:#}"),
            };
            if let Err(e) = reap_when_gone(std::process::id(), &root, &cluster, &[]) {
                panic!("could not start the test cluster's reaper: {e:#}");
            }
            cluster
        })
        .await
}

/// Starts a detached shell that waits for `pid` to exit, then kills the process groups
/// `pgids`, stops the nodes and removes `root`.
pub fn reap_when_gone(pid: u32, root: &Path, cluster: &PgCluster, pgids: &[u32]) -> Result<()> {
    use std::os::unix::process::CommandExt;
    let pg_ctl = bin_dir()?.join("pg_ctl");
    let as_server = if is_root() {
        format!("runuser -u {SERVER_USER} -- ")
    } else {
        String::new()
    };
    let mut script = format!("while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; ");
    for pgid in pgids {
        script.push_str(&format!("env kill -KILL -- -{pgid} 2>/dev/null; "));
    }
    for node in &cluster.nodes {
        script.push_str(&format!(
            "{as_server}'{}' stop -D '{}' -m immediate >/dev/null 2>&1; ",
            pg_ctl.display(),
            node.data_dir.display()
        ));
    }
    script.push_str(&format!("rm -rf '{}'", root.display()));
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .context("spawning the reaper")?;
    Ok(())
}
