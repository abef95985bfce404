//! Each region's database for a stack: a single PostgreSQL node ([`crate::pg`]), or, for the
//! regions `StackOptions::ha` covers, a primary and a standby under pg_auto_failover
//! ([`crate::ha`]); and the [`Endpoints`] that say how to reach them.

use anyhow::{Context, Result};
use roam_shared::RegionMap;

use crate::endpoints::{Endpoints, RegionData};
use crate::ha::HaCluster;
use crate::options::StackOptions;
use crate::pg::{reap_when_gone, PgCluster};
use crate::process::free_port;
use crate::wan::Wan;

/// What holds the stack's data.
#[derive(Debug)]
pub struct Databases {
    /// The single-node regions.
    pub cluster: PgCluster,
    /// The regions with a primary and a standby.
    pub ha: HaCluster,
}

impl Databases {
    /// Each region with its data nodes' ports, in map order.
    pub fn ports(&self, map: &RegionMap) -> Vec<(String, Vec<u16>)> {
        map.regions
            .iter()
            .filter_map(|r| {
                let ports = match (self.cluster.node(&r.name), self.ha.group(&r.name)) {
                    (Some(node), _) => vec![node.port],
                    (None, Some(group)) => group.ports(),
                    (None, None) => return None,
                };
                Some((r.name.clone(), ports))
            })
            .collect()
    }
}

/// Starts every region's database: single nodes and groups side by side. Ports come from
/// `options.pg_ports` in map order (one per single node, three per group: monitor, a, b), or
/// are free ones.
pub async fn start(options: &StackOptions, map: &RegionMap) -> Result<Databases> {
    let mut given = options.pg_ports.clone().map(Vec::into_iter);
    let mut next_port = || -> Result<u16> {
        match &mut given {
            Some(ports) => ports
                .next()
                .context("pg_ports: too few ports for the regions"),
            None => free_port(),
        }
    };
    let ha = options.ha.as_ref();
    let mut singles = Vec::new();
    let mut groups = Vec::new();
    for region in &map.regions {
        if ha.is_some_and(|ha| ha.covers(&region.name)) {
            groups.push((
                region.name.clone(),
                [next_port()?, next_port()?, next_port()?],
            ));
        } else {
            singles.push((region.name.clone(), next_port()?));
        }
    }
    let pg_root = options.root.join("pg");
    let ha_root = pg_root.join("ha");
    let failover = ha.map(|h| h.failover).unwrap_or_default();
    let (cluster, groups) = tokio::join!(
        PgCluster::start_nodes(&pg_root, singles),
        HaCluster::start(&ha_root, groups, failover, options.reap_on_exit),
    );
    let cluster = cluster?;
    if options.reap_on_exit {
        // Now, not only once all is up: a start that fails half-way must not leave the nodes
        // running (the groups have reapers of their own).
        reap_when_gone(std::process::id(), &options.root, &cluster, &[])?;
    }
    match groups {
        Ok(ha) => Ok(Databases { cluster, ha }),
        Err(e) => {
            cluster.stop();
            Err(e)
        }
    }
}

/// Where each region's data is reached: its nodes, its primary now, and the proxies.
pub async fn endpoints(
    databases: &Databases,
    map: &RegionMap,
    wan: Option<&Wan>,
) -> Result<Endpoints> {
    let mut endpoints = Endpoints::default();
    for (region, ports) in databases.ports(map) {
        let primary_port = match databases.ha.group(&region) {
            Some(group) => group.primary().await?.port,
            None => *ports.first().context("a region without a node")?,
        };
        endpoints.regions.push(RegionData {
            region,
            ports,
            primary_port,
        });
    }
    if let Some(wan) = wan {
        for from in &endpoints.regions {
            for to in endpoints
                .regions
                .iter()
                .filter(|to| to.region != from.region)
            {
                let ports = wan.fdw_ports(&from.region, &to.region);
                endpoints
                    .proxies
                    .insert((from.region.clone(), to.region.clone()), ports);
            }
        }
    }
    Ok(endpoints)
}
