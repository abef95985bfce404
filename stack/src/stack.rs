//! The whole stack on one machine: a PostgreSQL node and an origin per region, and the edge.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result};
use roam_shared::RegionMap;

use crate::origin::{migrate_all, seed_all, OriginOptions, OriginProcess};
use crate::pg::{reap_when_gone, PgCluster};

/// Name of the application database on every node.
pub const DATABASE: &str = "roam";

/// What to start and where.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Data directories and logs go here.
    pub root: PathBuf,
    /// The `roam-origin` binary.
    pub origin_binary: PathBuf,
    /// The shared secret of edge and origins.
    pub secret: String,
    /// PostgreSQL ports in map order (free ones when `None`).
    pub pg_ports: Option<Vec<u16>>,
    /// Origin ports in map order (free ones when `None`).
    pub origin_ports: Option<Vec<u16>>,
    /// Vehicles and users seeded per city (`None`: no sample data).
    pub seed: Option<(u32, u32)>,
    /// Wipe data directories first.
    pub fresh: bool,
    /// Tear everything down and delete `root` when this process exits, even by SIGKILL
    /// (tests); a developer's stack keeps its data.
    pub reap_on_exit: bool,
}

impl StackOptions {
    /// Options for a throwaway stack in a temporary folder, on free ports, with a little
    /// sample data: what end-to-end tests want.
    pub fn for_tests(name: &str) -> Self {
        let root = std::env::temp_dir().join(format!("roam-{name}-{}", std::process::id()));
        Self {
            root,
            origin_binary: default_origin_binary(),
            secret: roam_shared::signature::DEV_SECRET.to_string(),
            pg_ports: None,
            origin_ports: None,
            seed: Some((10, 3)),
            fresh: true,
            reap_on_exit: true,
        }
    }
}

/// The debug build of `roam-origin` in this workspace's target folder (or `ROAM_ORIGIN_BIN`).
pub fn default_origin_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("ROAM_ORIGIN_BIN") {
        return PathBuf::from(path);
    }
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    target.join("debug").join("roam-origin")
}

/// A running stack; dropping it stops everything it started.
#[derive(Debug)]
pub struct Stack {
    /// The options it was started with.
    pub options: StackOptions,
    /// The database nodes.
    pub cluster: PgCluster,
    /// One origin per region, in map order.
    pub origins: Vec<OriginProcess>,
}

impl Stack {
    /// Starts PostgreSQL nodes, migrates and seeds them, and starts an origin per region.
    pub async fn start(options: StackOptions) -> Result<Stack> {
        let map = RegionMap::builtin();
        if options.fresh {
            let _ = std::fs::remove_dir_all(&options.root);
        }
        std::fs::create_dir_all(&options.root)
            .with_context(|| format!("creating {}", options.root.display()))?;
        anyhow::ensure!(
            options.origin_binary.exists(),
            "{} does not exist: build it with `cargo build -p roam-origin`",
            options.origin_binary.display()
        );
        let pg_root = options.root.join("pg");
        let cluster = match &options.pg_ports {
            Some(ports) => PgCluster::start_on(&pg_root, map, ports).await?,
            None => PgCluster::start(&pg_root, map).await?,
        };
        let mut stack = Stack {
            options: options.clone(),
            cluster,
            origins: Vec::new(),
        };
        for node in &stack.cluster.nodes {
            node.ensure_database(DATABASE).await?;
        }
        let binary = options.origin_binary.clone();
        migrate_all(&binary, &stack.cluster, DATABASE)?;
        if let Some((vehicles, users)) = options.seed {
            seed_all(&binary, &stack.cluster, DATABASE, vehicles, users)?;
        }
        for (i, node) in stack.cluster.nodes.iter().enumerate() {
            let origin = OriginProcess::start(OriginOptions {
                binary: binary.clone(),
                region: node.region.clone(),
                port: options.origin_ports.as_ref().and_then(|p| p.get(i).copied()),
                database_url: node.url(DATABASE),
                secret: options.secret.clone(),
                log_file: options.root.join("logs").join(format!("origin-{}.log", node.region)),
                env: Vec::new(),
            })
            .await?;
            stack.origins.push(origin);
        }
        if options.reap_on_exit {
            let pgids: Vec<u32> = stack.origins.iter().filter_map(OriginProcess::pid).collect();
            reap_when_gone(std::process::id(), &options.root, &stack.cluster, &pgids)?;
        }
        Ok(stack)
    }

    /// The origin of a region.
    pub fn origin(&self, region: &str) -> Option<&OriginProcess> {
        self.origins.iter().find(|o| o.options.region == region)
    }

    /// The origin of a region, to kill or restart it.
    pub fn origin_mut(&mut self, region: &str) -> Option<&mut OriginProcess> {
        self.origins.iter_mut().find(|o| o.options.region == region)
    }

    /// Region → origin URL: the edge's `ORIGINS` var.
    pub fn origin_urls(&self) -> BTreeMap<String, String> {
        self.origins
            .iter()
            .map(|o| (o.options.region.clone(), o.url()))
            .collect()
    }

    /// Stops the origins (gracefully), then the database nodes.
    pub fn stop(&mut self) {
        for origin in &mut self.origins {
            origin.stop();
        }
        self.cluster.stop();
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.stop();
    }
}
