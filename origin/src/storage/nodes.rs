//! A connection pool per region's node: this region's own, and one straight to every other
//! region's node, so that a statement about a city runs on that city's node in one round trip.
//!
//! Through postgres_fdw a statement about a remote city costs a chain of wide-area round trips
//! (remote transaction start, cursor declare/fetch/close, commit); sent straight to the node
//! as one autocommit statement on a warm connection it costs one (see the origin's README for
//! the measurement). The remote pools therefore keep their connections open and skip sqlx's
//! ping before each use, which would be another round trip.
//!
//! A city's statements name its node's own partition (`here.<table>`, see
//! `schema::topology`), so they run only on that node: a region without a peer URL (allowed
//! in development only) has its cities answered 503, never through postgres_fdw.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;

use crate::error::{Error, Result};
use crate::libpq_url::split_hosts;
use crate::storage::primary::NodePool;
use crate::storage::{pool, traced};

/// Where the nodes are and how many connections to hold to each: what [`Nodes::connect`]
/// needs (the origin's `Config` converts into it).
#[derive(Debug, Clone, Copy)]
pub struct NodeSettings<'a> {
    /// This origin's region.
    pub region: &'a str,
    /// This region's node.
    pub database_url: &'a SecretString,
    /// Most connections to it.
    pub max_connections: u32,
    /// Other regions' nodes: region → database URL.
    pub peers: &'a BTreeMap<String, SecretString>,
    /// Most connections to each of them.
    pub peer_max_connections: u32,
    /// The region map.
    pub map: &'a roam_shared::RegionMap,
}

/// Every region's node, as this origin reaches it.
#[derive(Clone, Debug)]
pub struct Nodes {
    own: String,
    local: NodePool,
    /// Other regions' nodes reached directly (absent: through the local node's FDW).
    remote: Arc<BTreeMap<String, NodePool>>,
    map: Arc<roam_shared::RegionMap>,
}

impl Nodes {
    /// Lazily connecting pools for `settings` (the origin's `Config` gives them): an origin
    /// starts (and reports what it cannot reach) while nodes are down.
    pub fn connect<'a>(
        settings: impl Into<NodeSettings<'a>>,
        acquire_timeout: Duration,
    ) -> anyhow::Result<Self> {
        let settings = settings.into();
        let local = node_pool(settings.database_url.expose_secret(), |url| {
            pool::pool(url, settings.max_connections, acquire_timeout)
        })?;
        for (_, pool) in local.hosts() {
            traced::name(pool, settings.region, true);
        }
        let mut remote = BTreeMap::new();
        for (region, url) in settings.peers {
            let node = node_pool(url.expose_secret(), |url| {
                pool::remote_pool(url, settings.peer_max_connections, acquire_timeout)
            })
            .map_err(|e| anyhow::anyhow!("ROAM_PEERS for {region}: {e}"))?;
            for (_, pool) in node.hosts() {
                traced::name(pool, region, false);
            }
            remote.insert(region.clone(), node);
        }
        for region in &settings.map.regions {
            if region.name != settings.region && !remote.contains_key(&region.name) {
                tracing::warn!(
                    region = %region.name,
                    "no peer URL: this region's cities are answered 503"
                );
            }
        }
        Ok(Self {
            own: settings.region.to_string(),
            local,
            remote: Arc::new(remote),
            map: Arc::new(settings.map.clone()),
        })
    }

    /// Every region through one pool (this region's node and its postgres_fdw links): for
    /// tools and tests that hold a single connection pool. Its own cities only: other
    /// regions' are unavailable ([`Nodes::city`]).
    pub fn through(region: &str, pool: PgPool, map: &roam_shared::RegionMap) -> Self {
        Self {
            own: region.to_string(),
            local: NodePool::new(vec![region.to_string()], vec![pool]),
            remote: Arc::new(BTreeMap::new()),
            map: Arc::new(map.clone()),
        }
    }

    /// This region's node (its primary).
    pub fn local(&self) -> &PgPool {
        self.local.get()
    }

    /// This origin's region.
    pub fn own_region(&self) -> &str {
        &self.own
    }

    /// Whether a region's node is reached directly (its own or a peer), not through FDW.
    pub fn is_direct(&self, region: &str) -> bool {
        region == self.own || self.remote.contains_key(region)
    }

    /// The pool that reaches `region`'s node (its primary): its own pool, or the local node
    /// (FDW).
    pub fn region(&self, region: &str) -> &PgPool {
        self.node(region).get()
    }

    /// `region`'s node with all its hosts (or the local node, for a region reached by FDW).
    pub fn node(&self, region: &str) -> &NodePool {
        self.remote.get(region).unwrap_or(&self.local)
    }

    /// This region's node with all its hosts.
    pub fn local_node(&self) -> &NodePool {
        &self.local
    }

    /// The pool that reaches the home node of `city` (404 for a city the map does not know).
    pub fn city(&self, city: &str) -> Result<&PgPool> {
        let home = self
            .map
            .city(city)
            .ok_or_else(|| Error::NotFound(format!("no city {city}")))?;
        self.home(&home.region)
    }

    /// The pool of `region`'s own node, for statements on its `here.<table>` views (503 for a
    /// region without a peer URL: the local node does not hold its rows).
    pub fn home(&self, region: &str) -> Result<&PgPool> {
        if self.is_direct(region) {
            Ok(self.region(region))
        } else {
            Err(Error::Unavailable(format!(
                "region {region} has no peer URL (ROAM_PEERS), so its data is out of reach"
            )))
        }
    }

    /// Whether two cities are homed in the same region (so on the same node).
    pub fn same_region(&self, a: &str, b: &str) -> bool {
        let region = |c: &str| self.map.city(c).map(|c| c.region.as_str());
        region(a).is_some() && region(a) == region(b)
    }

    /// Every reachable node's primary pool, local first (writes that go everywhere).
    pub fn all(&self) -> impl Iterator<Item = (&str, &PgPool)> {
        self.nodes().map(|(region, node)| (region, node.get()))
    }

    /// Every reachable node, local first.
    pub fn nodes(&self) -> impl Iterator<Item = (&str, &NodePool)> {
        std::iter::once((self.own.as_str(), &self.local))
            .chain(self.remote.iter().map(|(r, p)| (r.as_str(), p)))
    }

    /// Finds every multi-host node's primary now (before serving), then keeps following them
    /// in the background; the tasks end when the returned handles are aborted.
    pub async fn follow_primaries(&self) -> Vec<tokio::task::JoinHandle<()>> {
        let multi: Vec<(String, NodePool)> = self
            .nodes()
            .filter(|(_, node)| node.is_multi_host())
            .map(|(region, node)| (region.to_string(), node.clone()))
            .collect();
        futures::future::join_all(multi.iter().map(|(region, node)| node.probe(region))).await;
        multi
            .into_iter()
            .map(|(region, node)| tokio::spawn(node.watch(region)))
            .collect()
    }

    /// Closes every pool of every host (connections in use finish first).
    pub async fn close(&self) {
        for (_, node) in self.nodes() {
            for (_, pool) in node.hosts() {
                pool.close().await;
            }
        }
    }
}

/// A node from a (possibly multi-host) URL, a pool per host made by `make`.
fn node_pool(url: &str, make: impl Fn(&str) -> anyhow::Result<PgPool>) -> anyhow::Result<NodePool> {
    let mut hosts = Vec::new();
    let mut pools = Vec::new();
    for (host, url) in split_hosts(url)? {
        pools.push(make(&url)?);
        hosts.push(host);
    }
    Ok(NodePool::new(hosts, pools))
}
