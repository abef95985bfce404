//! The whole stack on one machine: a PostgreSQL node (or, with [`crate::HaOptions`], a primary
//! and a standby under pg_auto_failover) and one or more origins per region (a region's origins share
//! its database: they are stateless apart from it), and the edge.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use roam_shared::RegionMap;

use crate::databases;
use crate::endpoints::Endpoints;
use crate::ha::{HaCluster, HaGroup};
use crate::options::StackOptions;
use crate::origin::{migrate_all, seed_all, OriginOptions, OriginProcess, Wiring};
use crate::pg::{ensure_database, reap_when_gone, PgCluster};
use crate::wan::Wan;

/// Name of the application database on every node.
pub const DATABASE: &str = "roam";

/// A running stack; dropping it stops everything it started.
#[derive(Debug)]
pub struct Stack {
    /// The options it was started with.
    pub options: StackOptions,
    /// The single database nodes (every region's, unless `options.ha` says otherwise).
    pub cluster: PgCluster,
    /// The regions under pg_auto_failover.
    pub ha: HaCluster,
    /// How each region's data is reached (what migrate, seed and the origins were given).
    pub endpoints: Endpoints,
    /// The origins, in map order, region by region (`origins_per_region` each).
    pub origins: Vec<OriginProcess>,
    /// The proxies that model distance, with `--wan`.
    pub wan: Option<Wan>,
}

impl Stack {
    /// Starts PostgreSQL nodes, migrates and seeds them, and starts the origins of each region.
    pub async fn start(options: StackOptions) -> Result<Stack> {
        let map = &options.topology.map()?;
        anyhow::ensure!(
            options.origins_per_region >= 1,
            "origins_per_region must be at least 1"
        );
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
        let databases = databases::start(&options, map).await?;
        let wan = match &options.wan {
            Some(wan) => Some(Wan::start(wan, map, &databases.ports(map)).await?),
            None => None,
        };
        let endpoints = databases::endpoints(&databases, map, wan.as_ref()).await?;
        let wiring = Wiring {
            map_file: options.topology.write_map(&options.root)?,
        };
        let mut stack = Stack {
            options: options.clone(),
            cluster: databases.cluster,
            ha: databases.ha,
            endpoints,
            origins: Vec::new(),
            wan,
        };
        stack.prepare_data(&wiring).await?;
        stack.start_origins(&wiring).await?;
        if let Some(wan) = &mut stack.wan {
            wan.front_origins(&stack.origins).await?;
        }
        if options.reap_on_exit {
            let pgids: Vec<u32> = stack
                .origins
                .iter()
                .filter_map(OriginProcess::pid)
                .collect();
            reap_when_gone(std::process::id(), &options.root, &stack.cluster, &pgids)?;
        }
        Ok(stack)
    }

    /// Creates the application database on each region's primary, migrates and seeds it.
    async fn prepare_data(&self, wiring: &Wiring) -> Result<()> {
        for region in &self.endpoints.regions {
            let admin = self.endpoints.primary_url(&region.region, "postgres")?;
            ensure_database(&admin, DATABASE).await?;
        }
        let binary = &self.options.origin_binary;
        migrate_all(binary, &self.endpoints, DATABASE, wiring)?;
        if let Some((vehicles, users)) = self.options.seed {
            seed_all(binary, &self.endpoints, DATABASE, vehicles, users, wiring)?;
        }
        Ok(())
    }

    /// Starts `origins_per_region` origins for each region, on its data.
    async fn start_origins(&mut self, wiring: &Wiring) -> Result<()> {
        let per_region = self.options.origins_per_region;
        let regions: Vec<String> = self
            .endpoints
            .regions
            .iter()
            .map(|r| r.region.clone())
            .collect();
        for (i, region) in regions.iter().enumerate() {
            for k in 0..per_region {
                // The first origin keeps the name it has always had; the others are numbered.
                let log_name = match k {
                    0 => format!("origin-{region}.log"),
                    _ => format!("origin-{region}-{}.log", k + 1),
                };
                let origin = OriginProcess::start(OriginOptions {
                    binary: self.options.origin_binary.clone(),
                    region: region.clone(),
                    port: self
                        .options
                        .origin_ports
                        .as_ref()
                        .and_then(|p| p.get(i * per_region + k).copied()),
                    database_url: self.endpoints.origin_url(region, DATABASE)?,
                    secret: self.options.secret.clone(),
                    log_file: self.options.root.join("logs").join(log_name),
                    env: [
                        wiring.env(),
                        vec![("ROAM_PEERS".into(), self.peers_of(region)?)],
                        self.options.origin_env.clone(),
                    ]
                    .concat(),
                })
                .await?;
                self.origins.push(origin);
            }
        }
        Ok(())
    }

    /// `ROAM_PEERS` for the origins of `region`: every other region's data, through the
    /// proxies with `--wan` (the links its node's postgres_fdw servers use too).
    fn peers_of(&self, region: &str) -> Result<String> {
        let mut peers = Vec::new();
        for other in self.endpoints.regions.iter().filter(|r| r.region != region) {
            let url = self.endpoints.peer_url(region, &other.region, DATABASE)?;
            peers.push(format!("{}={url}", other.region));
        }
        Ok(peers.join(" "))
    }

    /// The (first) origin of a region.
    pub fn origin(&self, region: &str) -> Option<&OriginProcess> {
        self.origins.iter().find(|o| o.options.region == region)
    }

    /// The (first) origin of a region, to kill or restart it.
    pub fn origin_mut(&mut self, region: &str) -> Option<&mut OriginProcess> {
        self.origins.iter_mut().find(|o| o.options.region == region)
    }

    /// Every origin of a region (its pool), in start order.
    pub fn origins_of<'a>(&'a self, region: &'a str) -> impl Iterator<Item = &'a OriginProcess> {
        self.origins
            .iter()
            .filter(move |o| o.options.region == region)
    }

    /// Every origin of a region, to kill or restart one.
    pub fn origins_of_mut<'a>(
        &'a mut self,
        region: &'a str,
    ) -> impl Iterator<Item = &'a mut OriginProcess> {
        self.origins
            .iter_mut()
            .filter(move |o| o.options.region == region)
    }

    /// Region → the URL of its first origin: the edge's `ORIGINS` var when every region has
    /// one origin ([`Stack::origin_pools`] for all of them). Every region of the built-in map
    /// (the edge's) gets the origin its topology serves it from, through its proxy with `--wan`.
    pub fn origin_urls(&self) -> BTreeMap<String, String> {
        self.origin_pools()
            .into_iter()
            .filter_map(|(region, pool)| Some((region, pool.into_iter().next()?)))
            .collect()
    }

    /// Region → the URLs of its origins (its pool), as the edge's `ORIGINS` var takes them;
    /// through their proxies with `--wan`.
    pub fn origin_pools(&self) -> BTreeMap<String, Vec<String>> {
        let urls = |serving: &str| -> Vec<String> {
            match &self.wan {
                Some(wan) => wan.origin_urls(serving),
                None => self.origins_of(serving).map(OriginProcess::url).collect(),
            }
        };
        RegionMap::builtin()
            .regions
            .iter()
            .map(|r| {
                let pool = urls(self.options.topology.serving_region(&r.name));
                (r.name.clone(), pool)
            })
            .filter(|(_, pool)| !pool.is_empty())
            .collect()
    }

    /// The pg_auto_failover group of a region, if it has one.
    pub fn group(&self, region: &str) -> Option<&HaGroup> {
        self.ha.group(region)
    }

    /// The pg_auto_failover group of a region, to kill or restart its nodes.
    pub fn group_mut(&mut self, region: &str) -> Option<&mut HaGroup> {
        self.ha.group_mut(region)
    }

    /// The URL of `database` on the region's primary now (asking its monitor, for a group).
    pub async fn primary_url(&self, region: &str, database: &str) -> Result<String> {
        match (self.cluster.node(region), self.ha.group(region)) {
            (Some(node), _) => Ok(node.url(database)),
            (None, Some(group)) => Ok(group.primary().await?.url(database)),
            (None, None) => anyhow::bail!("no database for region {region}"),
        }
    }

    /// Stops the origins (gracefully), then the databases.
    pub fn stop(&mut self) {
        for origin in &mut self.origins {
            origin.stop();
        }
        self.cluster.stop();
        self.ha.stop();
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.stop();
    }
}
