//! Origins as processes: the `roam-origin` binary, one per region, each with its own log.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::endpoints::Endpoints;
use crate::process::{free_port, log_tail, run, wait_until_ok, ManagedChild};

/// How to start one region's origin.
#[derive(Debug, Clone)]
pub struct OriginOptions {
    /// The `roam-origin` binary.
    pub binary: PathBuf,
    /// Its region.
    pub region: String,
    /// Port on 127.0.0.1 (a free one when `None`).
    pub port: Option<u16>,
    /// Its database node's URL.
    pub database_url: String,
    /// The shared secret.
    pub secret: String,
    /// Log file.
    pub log_file: PathBuf,
    /// Extra environment (e.g. `RUST_LOG`).
    pub env: Vec<(String, String)>,
}

/// A running origin.
#[derive(Debug)]
pub struct OriginProcess {
    /// The options it was started with (to restart it the same way).
    pub options: OriginOptions,
    /// The port it listens on.
    pub port: u16,
    /// The port of its admin listener (`/readyz`, `/metrics`).
    pub admin_port: u16,
    child: Option<ManagedChild>,
}

impl OriginProcess {
    /// Starts the origin and waits until `/healthz` answers.
    pub async fn start(options: OriginOptions) -> Result<Self> {
        let port = match options.port {
            Some(port) => port,
            None => free_port()?,
        };
        let mut origin = Self {
            options,
            port,
            admin_port: free_port()?,
            child: None,
        };
        origin.spawn().await?;
        Ok(origin)
    }

    async fn spawn(&mut self) -> Result<()> {
        let o = &self.options;
        let mut command = Command::new(&o.binary);
        command
            .arg("serve")
            .env("ROAM_REGION", &o.region)
            .env("ROAM_LISTEN", format!("127.0.0.1:{}", self.port))
            .env(
                "ROAM_ADMIN_LISTEN",
                format!("127.0.0.1:{}", self.admin_port),
            )
            .env("DATABASE_URL", &o.database_url)
            .env("ROAM_SECRET", &o.secret)
            .env("ROAM_ENV", "development")
            .envs(o.env.iter().map(|(k, v)| (k, v)));
        if std::env::var_os("RUST_LOG").is_none() && !o.env.iter().any(|(k, _)| k == "RUST_LOG") {
            command.env("RUST_LOG", "info");
        }
        self.child = Some(ManagedChild::spawn(
            &format!("origin {}", o.region),
            command,
            &o.log_file,
        )?);
        wait_until_ok(&format!("{}/healthz", self.url()), Duration::from_secs(30))
            .await
            .with_context(|| {
                format!(
                    "origin {} did not start; {} ends:\n{}",
                    o.region,
                    o.log_file.display(),
                    log_tail(&o.log_file, 20)
                )
            })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The admin listener, `http://127.0.0.1:<admin port>`.
    pub fn admin_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.admin_port)
    }

    /// Kills the process at once (SIGKILL: a crash).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill();
        }
    }

    /// Stops it gracefully (SIGTERM: in-flight requests finish).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.stop(Duration::from_secs(10));
        }
    }

    /// Starts it again on the same port.
    pub async fn restart(&mut self) -> Result<()> {
        self.stop();
        self.spawn().await
    }

    /// The process group id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(ManagedChild::pid)
    }
}

/// How the origins are wired beyond the defaults (the built-in map).
#[derive(Debug, Clone, Default)]
pub struct Wiring {
    /// A regions.json for migrate, seed and the origins (`ROAM_REGION_MAP`).
    pub map_file: Option<PathBuf>,
}

impl Wiring {
    /// The environment `roam-origin serve` needs for this wiring.
    pub fn env(&self) -> Vec<(String, String)> {
        self.map_file
            .iter()
            .map(|p| ("ROAM_REGION_MAP".to_string(), p.display().to_string()))
            .collect()
    }

    /// The flags `migrate` and `seed` need (flags, not `ROAM_REGION_MAP`: that variable
    /// also wakes the top-level serve flags, which then demand `--region`).
    fn args(&self) -> Vec<String> {
        self.map_file
            .iter()
            .flat_map(|p| ["--region-map".to_string(), p.display().to_string()])
            .collect()
    }
}

/// Migrates every region's primary (its database `database`): schema, then the FDW topology
/// generated from the region map (each region's peers are the other regions, reached as
/// [`Endpoints::peer_url`] says).
pub fn migrate_all(
    binary: &Path,
    endpoints: &Endpoints,
    database: &str,
    wiring: &Wiring,
) -> Result<()> {
    for data in &endpoints.regions {
        let region = &data.region;
        let mut command = Command::new(binary);
        command
            .arg("migrate")
            .args(["--database-url", &endpoints.primary_url(region, database)?])
            .args(["--region", region])
            .args(wiring.args());
        for peer in endpoints.regions.iter().filter(|p| p.region != *region) {
            let url = endpoints.peer_url(region, &peer.region, database)?;
            command.args(["--peer", &format!("{}={url}", peer.region)]);
        }
        run(&format!("migrating the {region} node"), &mut command)?;
    }
    Ok(())
}

/// Seeds every region's own cities on its primary (idempotent).
pub fn seed_all(
    binary: &Path,
    endpoints: &Endpoints,
    database: &str,
    vehicles_per_city: u32,
    users_per_city: u32,
    wiring: &Wiring,
) -> Result<()> {
    for data in &endpoints.regions {
        run(
            &format!("seeding the {} node", data.region),
            Command::new(binary)
                .arg("seed")
                .args([
                    "--database-url",
                    &endpoints.primary_url(&data.region, database)?,
                ])
                .args(["--region", &data.region])
                .args(["--vehicles-per-city", &vehicles_per_city.to_string()])
                .args(["--users-per-city", &users_per_city.to_string()])
                .args(wiring.args()),
        )?;
    }
    Ok(())
}
