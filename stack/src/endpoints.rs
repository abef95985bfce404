//! The URLs the stack hands out for each region's data: to `roam-origin migrate` and `seed`,
//! to the origins (`DATABASE_URL`), and to tests. A region's data is one node, or a group
//! under pg_auto_failover whose primary may be either of its two nodes ([`crate::ha`]).

use std::collections::BTreeMap;

use anyhow::{Context, Result};

use crate::ha::multi_host_url;

/// Where one region's data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionData {
    /// The region.
    pub region: String,
    /// Its data nodes' ports on 127.0.0.1: one node's, or a group's two.
    pub ports: Vec<u16>,
    /// The port of the node that was primary when the stack started (migrations and seeding
    /// went there).
    pub primary_port: u16,
}

/// Every region's data, and the proxies between them.
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    /// In map order.
    pub regions: Vec<RegionData>,
    /// (from, to) → the ports of the proxies `from`'s nodes reach `to`'s nodes through (with
    /// `--wan`), in the order of `to`'s ports.
    pub proxies: BTreeMap<(String, String), Vec<u16>>,
}

impl Endpoints {
    /// A region's data.
    pub fn region(&self, region: &str) -> Result<&RegionData> {
        self.regions
            .iter()
            .find(|r| r.region == region)
            .with_context(|| format!("no database for region {region}"))
    }

    /// The URL of `database` on the region's primary as of the start (one host).
    pub fn primary_url(&self, region: &str, database: &str) -> Result<String> {
        Ok(single_host_url(self.region(region)?.primary_port, database))
    }

    /// The URL of `database` on any of the region's nodes that takes writes (libpq).
    pub fn multi_host_url(&self, region: &str, database: &str) -> Result<String> {
        Ok(url_for(&self.region(region)?.ports, database))
    }

    /// The region's origins' `DATABASE_URL`: every node, the origin finds the primary.
    pub fn origin_url(&self, region: &str, database: &str) -> Result<String> {
        self.multi_host_url(region, database)
    }

    /// What `from` is given for `to` (`roam-origin migrate --peer to=URL`, and the origins'
    /// `ROAM_PEERS`): every node of `to`, through the proxies with `--wan`; libpq and the
    /// origin pick the one that takes writes.
    pub fn peer_url(&self, from: &str, to: &str, database: &str) -> Result<String> {
        let target = self.region(to)?;
        let ports = match self.proxies.get(&(from.to_string(), to.to_string())) {
            Some(proxies) => proxies.clone(),
            None => target.ports.clone(),
        };
        Ok(url_for(&ports, database))
    }
}

/// `postgres://postgres@127.0.0.1:<port>/<database>`.
pub fn single_host_url(port: u16, database: &str) -> String {
    format!("postgres://postgres@127.0.0.1:{port}/{database}")
}

/// One host's URL for one port, the multi-host URL for several.
fn url_for(ports: &[u16], database: &str) -> String {
    match ports {
        [one] => single_host_url(*one, database),
        many => multi_host_url(many, database),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoints() -> Endpoints {
        Endpoints {
            regions: vec![
                RegionData {
                    region: "eu-west".into(),
                    ports: vec![7001, 7002],
                    primary_port: 7002,
                },
                RegionData {
                    region: "us-east".into(),
                    ports: vec![7100],
                    primary_port: 7100,
                },
            ],
            proxies: BTreeMap::from([(("us-east".into(), "eu-west".into()), vec![9001, 9002])]),
        }
    }

    #[test]
    fn a_group_is_reached_at_its_primary_or_through_libpq() -> Result<()> {
        let e = endpoints();
        assert_eq!(
            e.primary_url("eu-west", "roam")?,
            "postgres://postgres@127.0.0.1:7002/roam"
        );
        assert_eq!(
            e.multi_host_url("eu-west", "roam")?,
            "postgres://postgres@127.0.0.1:7001,127.0.0.1:7002/roam?target_session_attrs=read-write"
        );
        assert_eq!(
            e.multi_host_url("us-east", "roam")?,
            e.primary_url("us-east", "roam")?
        );
        // Both of the peer's nodes, through their proxies.
        assert_eq!(
            e.peer_url("us-east", "eu-west", "roam")?,
            "postgres://postgres@127.0.0.1:9001,127.0.0.1:9002/roam?target_session_attrs=read-write"
        );
        assert_eq!(
            e.peer_url("eu-west", "us-east", "roam")?,
            "postgres://postgres@127.0.0.1:7100/roam"
        );
        assert!(e.peer_url("eu-west", "ap-south", "roam").is_err());
        Ok(())
    }
}
