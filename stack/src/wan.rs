//! `--wan`: the modelled geography on the links between the stack's parts, through roam-wan
//! proxies on loopback.
//!
//! - **postgres_fdw**: node A's foreign server for region B points at a proxy in front of B's
//!   port with the A↔B round-trip time (one proxy per ordered pair, so each direction's
//!   connections are A's own). A region under pg_auto_failover has two nodes: each gets its
//!   own proxy, so a multi-host URL made of the proxies reaches whichever is primary.
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
    /// (from region, to region) → a proxy in front of each of `to`'s nodes (in the order of
    /// their ports), used by `from`'s nodes.
    fdw: BTreeMap<(String, String), Vec<LinkHandle>>,
    /// Origin's region → a proxy in front of each of its origins, used by the edge.
    edge: BTreeMap<String, Vec<LinkHandle>>,
}

impl Wan {
    /// Starts a proxy for every ordered pair of regions and every data node of the second.
    /// `map` is the topology's; `nodes` is each region with its data nodes' ports.
    pub async fn start(
        options: &WanOptions,
        map: &RegionMap,
        nodes: &[(String, Vec<u16>)],
    ) -> Result<Wan> {
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
        for (from, _) in nodes {
            for (to, ports) in nodes.iter().filter(|(to, _)| to != from) {
                let rtt = region_rtt(&options.model, map, from, to)
                    .with_context(|| format!("no coordinates for {from} or {to}"))?;
                let mut links = Vec::new();
                for port in ports {
                    links.push(Link::new(loopback(*port)).rtt(rtt).start().await?);
                }
                fdw.insert((from.clone(), to.clone()), links);
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

    /// The ports `from`'s nodes must use to reach each of `to`'s nodes (their foreign
    /// servers' ports), in the order of `to`'s ports.
    pub fn fdw_ports(&self, from: &str, to: &str) -> Vec<u16> {
        self.fdw_links(from, to)
            .iter()
            .map(|l| l.addr().port())
            .collect()
    }

    /// The proxy `from`'s nodes use to reach `to`'s (first) node (to change its RTT or cut it).
    pub fn fdw_link(&self, from: &str, to: &str) -> Option<&LinkHandle> {
        self.fdw_links(from, to).first()
    }

    /// The proxies `from`'s nodes use to reach each of `to`'s nodes.
    pub fn fdw_links(&self, from: &str, to: &str) -> &[LinkHandle] {
        self.fdw
            .get(&(from.to_string(), to.to_string()))
            .map_or(&[], Vec::as_slice)
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
        let fdw = self.fdw.iter().flat_map(|((from, to), links)| {
            links.iter().map(move |link| {
                let what = format!("{from} node → {to} node (fdw) via {}", link.addr());
                (what, link.conditions().rtt)
            })
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
