//! `--wan`: the modelled geography on the links between the stack's parts, through roam-wan
//! proxies on loopback.
//!
//! - **postgres_fdw**: node A's foreign server for region B points at a proxy in front of B's
//!   port with the A↔B round-trip time (one proxy per ordered pair, so each direction's
//!   connections are A's own).
//! - **edge → origin**: one proxy in front of each origin with the RTT from the PoP the edge
//!   is playing. A local edge serves every user from one machine, so it plays one colo at a
//!   time; [`Wan::set_pop`] moves it (the bench does, per user city).
//! - **user → PoP** is the client's leg: the bench puts its own link in front of the edge.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use roam_shared::RegionMap;
use roam_wan::model::{colo_by_code, nearest_colo, region_rtt, Colo};
use roam_wan::{Link, LinkHandle, RttModel};

use crate::origin::OriginProcess;
use crate::pg::PgCluster;

/// How to run a stack with geography.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WanOptions {
    /// Distance → RTT.
    pub model: RttModel,
    /// IATA code of the colo the edge plays at first (`None`: the one nearest the default
    /// region, i.e. users next to it).
    pub pop: Option<String>,
}

/// The running links of a stack with geography.
#[derive(Debug)]
pub struct Wan {
    model: RttModel,
    map: RegionMap,
    pop: &'static Colo,
    /// (from region, to region) → proxy in front of `to`'s node, used by `from`'s node.
    fdw: BTreeMap<(String, String), LinkHandle>,
    /// Origin's region → a proxy in front of each of its origins, used by the edge.
    edge: BTreeMap<String, Vec<LinkHandle>>,
}

impl Wan {
    /// Starts a proxy for every ordered pair of the cluster's nodes. `map` is the topology's
    /// (its regions are the nodes' regions).
    pub async fn start(options: &WanOptions, map: &RegionMap, cluster: &PgCluster) -> Result<Wan> {
        let pop = match &options.pop {
            Some(code) => colo_by_code(code).with_context(|| format!("unknown colo {code}"))?,
            None => {
                let home = map
                    .region_coordinates(&map.default_region)
                    .context("default region has no coordinates")?;
                nearest_colo(home)
            }
        };
        let mut fdw = BTreeMap::new();
        for from in &cluster.nodes {
            for to in cluster.nodes.iter().filter(|n| n.region != from.region) {
                let rtt = region_rtt(&options.model, map, &from.region, &to.region).with_context(
                    || format!("no coordinates for {} or {}", from.region, to.region),
                )?;
                let link = Link::new(loopback(to.port)).rtt(rtt).start().await?;
                fdw.insert((from.region.clone(), to.region.clone()), link);
            }
        }
        Ok(Wan {
            model: options.model,
            map: map.clone(),
            pop,
            fdw,
            edge: BTreeMap::new(),
        })
    }

    /// The port `from`'s node must use to reach `to`'s node (its foreign server's port).
    pub fn fdw_port(&self, from: &str, to: &str) -> Option<u16> {
        let key = (from.to_string(), to.to_string());
        self.fdw.get(&key).map(|l| l.addr().port())
    }

    /// The proxy `from`'s node uses to reach `to`'s (to change its RTT or cut it).
    pub fn fdw_link(&self, from: &str, to: &str) -> Option<&LinkHandle> {
        self.fdw.get(&(from.to_string(), to.to_string()))
    }

    /// Puts a proxy in front of each origin, with the RTT from the current PoP.
    pub async fn front_origins(&mut self, origins: &[OriginProcess]) -> Result<()> {
        for origin in origins {
            let region = origin.options.region.clone();
            let rtt = self.pop_rtt(&region)?;
            // Cloudflare keeps its connections to an origin warm, so a request pays no
            // handshake on this leg (a local workerd may open one per subrequest).
            let link = Link::new(loopback(origin.port))
                .rtt(rtt)
                .handshake(false)
                .start()
                .await?;
            self.edge.entry(region).or_default().push(link);
        }
        Ok(())
    }

    /// The URL the edge uses for a region's (first) origin (through its proxy).
    pub fn origin_url(&self, region: &str) -> Option<String> {
        self.origin_urls(region).into_iter().next()
    }

    /// The URLs the edge uses for each origin of a region (through their proxies).
    pub fn origin_urls(&self, region: &str) -> Vec<String> {
        self.edge
            .get(region)
            .into_iter()
            .flatten()
            .map(|l| format!("http://{}", l.addr()))
            .collect()
    }

    /// The proxy in front of a region's (first) origin.
    pub fn edge_link(&self, region: &str) -> Option<&LinkHandle> {
        self.edge.get(region).and_then(|links| links.first())
    }

    /// The colo the edge plays.
    pub fn pop(&self) -> &'static Colo {
        self.pop
    }

    /// Moves the edge to another colo: every edge → origin link takes that colo's RTT,
    /// open connections included.
    pub fn set_pop(&mut self, code: &str) -> Result<()> {
        self.pop = colo_by_code(code).with_context(|| format!("unknown colo {code}"))?;
        for (region, links) in &self.edge {
            let rtt = self.pop_rtt(region)?;
            links.iter().for_each(|link| link.set_rtt(rtt));
        }
        Ok(())
    }

    /// The model in use.
    pub fn model(&self) -> &RttModel {
        &self.model
    }

    /// Every link: (description, RTT), for the dev command's table.
    pub fn describe(&self) -> Vec<(String, Duration)> {
        let fdw = self.fdw.iter().map(|((from, to), link)| {
            let what = format!("{from} node → {to} node (fdw) via {}", link.addr());
            (what, link.conditions().rtt)
        });
        let edge = self
            .edge
            .iter()
            .flat_map(|(region, links)| links.iter().map(move |link| (region, link)));
        let edge = edge.map(|(region, link)| {
            let what = format!(
                "edge@{} → origin {region} via {}",
                self.pop.code,
                link.addr()
            );
            (what, link.conditions().rtt)
        });
        fdw.chain(edge).collect()
    }

    fn pop_rtt(&self, region: &str) -> Result<Duration> {
        let at = self
            .map
            .region_coordinates(region)
            .with_context(|| format!("no coordinates for region {region}"))?;
        Ok(self.model.rtt(self.pop.at, at))
    }
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}
