//! `spawn_stack()`: a fresh database on every node of the test cluster, migrated with the
//! map's topology, and an in-process origin per region on port 0 ([`TestOrigin`]). Requests
//! are signed the way the edge signs them. The steps every scenario shares (sign up, log in, a
//! vehicle, a ride) and the looks at the nodes' tables are in `steps`.

use std::collections::BTreeMap;

use roam_origin::schema::links::Peer;
use roam_origin::schema::topology;
use roam_origin::Config;
use roam_shared::RegionMap;
use roam_stack::pg::secure::SecureAccess;
use roam_stack::pg::{test_cluster, PgCluster, PgNode};
use sqlx::{PgPool, Postgres, Transaction};

pub(crate) use crate::client::{assert_all_one_201, assert_problem, Resp, Signing};
use uuid::Uuid;

mod origin;
mod steps;

pub(crate) use origin::TestOrigin;

pub(crate) const REGIONS: [&str; 3] = ["us-east", "us-west", "eu-west"];

/// Every test user's password.
pub(crate) const PASSWORD: &str = "correct horse";

/// A transaction on `node` holding the row locks `select_for_update` (its `$1` bound to `id`)
/// takes: a request or job that needs those rows waits until the transaction ends.
pub(crate) async fn hold_row_locks(
    node: &PgPool,
    select_for_update: &str,
    id: Uuid,
) -> Transaction<'static, Postgres> {
    let mut locks = node.begin().await.unwrap();
    sqlx::query(select_for_update)
        .bind(id)
        .execute(&mut *locks)
        .await
        .unwrap();
    locks
}

/// A fresh email, its claim wherever its hash puts it.
pub(crate) fn fresh_email() -> String {
    format!("{}@example.com", Uuid::new_v4().simple())
}

/// A fresh email whose claim (under the development key) lives on `region`'s node.
pub(crate) fn email_claimed_on(region: &str) -> String {
    let map = RegionMap::builtin();
    let key = roam_shared::email_claim::ClaimKey::development();
    (0..)
        .map(|i| format!("{}-{i}@example.com", Uuid::new_v4().simple()))
        .find(|e| roam_shared::email_claim::claim_region(map, &key.hash(e)).name == region)
        .expect("some email")
}

pub(crate) struct TestStack {
    pub database: String,
    pub origins: Vec<TestOrigin>,
    /// A pool per node, for looking at the tables directly.
    pub nodes: BTreeMap<String, PgPool>,
    /// (origin's region, peer's region) → the URL that origin uses for the peer's node,
    /// when not the node itself (a test's link in between).
    pub peer_urls: BTreeMap<(String, String), String>,
    /// How origins and links reach the nodes when they are secured (TLS + SCRAM), instead of
    /// the harness's own superuser door.
    pub secure: Option<&'static SecureAccess>,
    cluster: &'static PgCluster,
    configure: fn(&mut Config),
}

/// A stack on the shared test cluster.
pub(crate) async fn spawn_stack() -> TestStack {
    spawn_stack_on(test_cluster().await).await
}

/// A stack on the shared test cluster whose origins' configuration `configure` adjusts.
pub(crate) async fn spawn_stack_with(configure: fn(&mut Config)) -> TestStack {
    spawn_stack_configured(test_cluster().await, configure).await
}

/// A stack on `cluster`.
pub(crate) async fn spawn_stack_on(cluster: &'static PgCluster) -> TestStack {
    spawn_stack_configured(cluster, |_| {}).await
}

async fn spawn_stack_configured(
    cluster: &'static PgCluster,
    configure: fn(&mut Config),
) -> TestStack {
    spawn_stack_for(cluster, RegionMap::builtin(), configure).await
}

/// A stack of the regions of `map` (a subset of the cluster's) on `cluster`.
pub(crate) async fn spawn_stack_for(
    cluster: &'static PgCluster,
    map: &RegionMap,
    configure: fn(&mut Config),
) -> TestStack {
    let mut stack = TestStack::unmigrated(cluster, configure);
    stack.migrate(map).await;
    stack.start_origins(map).await;
    stack
}

impl TestStack {
    /// A stack with no database yet (`connect`, then set up, then `migrate`).
    pub(crate) fn unmigrated(cluster: &'static PgCluster, configure: fn(&mut Config)) -> TestStack {
        TestStack {
            database: format!("t_{}", Uuid::new_v4().simple()),
            origins: Vec::new(),
            nodes: BTreeMap::new(),
            peer_urls: BTreeMap::new(),
            secure: None,
            cluster,
            configure,
        }
    }

    /// Origins started from now on are configured by `configure`.
    pub(crate) fn reconfigure(&mut self, configure: fn(&mut Config)) {
        self.configure = configure;
    }

    /// Creates this test's database on every node of `map` where it is missing, with a pool.
    /// The cluster's nodes of `map`'s regions.
    fn nodes_of(&self, map: &RegionMap) -> Vec<&'static PgNode> {
        let cluster: &'static PgCluster = self.cluster;
        cluster
            .nodes
            .iter()
            .filter(|n| map.region(&n.region).is_some())
            .collect()
    }

    pub(crate) async fn connect(&mut self, map: &RegionMap) {
        let nodes = self.nodes_of(map);
        for node in &nodes {
            if !self.nodes.contains_key(&node.region) {
                node.create_database(&self.database)
                    .await
                    .expect("create database");
                let pool = PgPool::connect(&node.url(&self.database))
                    .await
                    .expect("connect");
                // Which statements each node ran (see `statement_calls`).
                sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
                    .execute(&pool)
                    .await
                    .expect("pg_stat_statements");
                self.nodes.insert(node.region.clone(), pool);
            }
        }
    }

    /// Creates the database where missing and migrates every node of `map` with it.
    pub(crate) async fn migrate(&mut self, map: &RegionMap) {
        self.connect(map).await;
        let nodes = self.nodes_of(map);
        for node in &nodes {
            let peers = nodes
                .iter()
                .filter(|p| p.region != node.region)
                .map(|p| {
                    (
                        p.region.clone(),
                        Peer::from_url(&self.app_url(p)).expect("peer"),
                    )
                })
                .collect();
            topology::migrate(&self.nodes[&node.region], map, &node.region, &peers)
                .await
                .expect("migrate");
        }
    }

    /// (Re)starts an origin per region of `map`.
    pub(crate) async fn start_origins(&mut self, map: &RegionMap) {
        for origin in &mut self.origins {
            origin.stop().await;
        }
        self.origins.clear();
        for node in self.nodes_of(map) {
            let mut config =
                Config::development(&node.region, &self.app_url(node)).expect("config");
            config.map = map.clone();
            // Every other region's node directly, as in production (or through a link a
            // test put in between).
            config.peers = self
                .cluster
                .nodes
                .iter()
                .filter(|p| p.region != node.region && map.region(&p.region).is_some())
                .map(|p| {
                    let key = (node.region.clone(), p.region.clone());
                    let url = self.peer_urls.get(&key).cloned();
                    let url = url.unwrap_or_else(|| self.app_url(p));
                    (p.region.clone(), url.into())
                })
                .collect();
            // Cheap hashes keep the tests fast; the hashing code path is the production one.
            config.argon2_memory_kib = 256;
            // Tests add many vehicles as one user; the limit has its own test.
            config.vehicles_per_hour = 100_000;
            (self.configure)(&mut config);
            self.origins.push(TestOrigin::spawn(config).await);
        }
    }

    /// The URL origins and links use for this test's database on `node`.
    fn app_url(&self, node: &PgNode) -> String {
        match self.secure {
            Some(access) => access.url(node, &self.database),
            None => node.url(&self.database),
        }
    }

    pub(crate) fn origin(&self, region: &str) -> &TestOrigin {
        self.origins
            .iter()
            .find(|o| o.region == region)
            .expect("no such origin")
    }

    pub(crate) fn node(&self, region: &str) -> &PgPool {
        &self.nodes[region]
    }

    /// The port of a region's node.
    pub(crate) fn node_port(&self, region: &str) -> u16 {
        self.cluster.node(region).expect("no such node").port
    }

    /// The URL of this test's database on a node reached at `port` (e.g. through a link).
    pub(crate) fn database_url_at(&self, port: u16) -> String {
        format!("postgres://postgres@127.0.0.1:{port}/{}", self.database)
    }

    /// Stops the origins, closes the pools, drops the databases.
    pub(crate) async fn cleanup(mut self) {
        for origin in &mut self.origins {
            origin.stop().await;
        }
        for pool in self.nodes.values() {
            pool.close().await;
        }
        for node in &self.cluster.nodes {
            if node.is_running() {
                node.drop_database(&self.database)
                    .await
                    .expect("drop database");
            }
        }
    }
}
