//! `spawn_stack()`: a fresh database on every node of the test cluster, migrated with the
//! map's topology, and an in-process origin per region on port 0. Requests are signed the
//! way the edge signs them. (Past 300 lines: the stack, its origins and the steps every
//! scenario shares — sign up, log in, a vehicle, a ride — in one place.)

use std::collections::BTreeMap;
use std::time::Duration;

use roam_origin::schema::links::Peer;
use roam_origin::schema::topology;
use roam_origin::{Application, Config};
use roam_shared::RegionMap;
use roam_stack::pg::secure::SecureAccess;
use roam_stack::pg::{test_cluster, PgCluster, PgNode};
use serde_json::Value;
use sqlx::PgPool;
use tokio::sync::oneshot;

pub(crate) use crate::client::{assert_all_one_201, assert_problem, Req, Resp, Signing};
use uuid::Uuid;

pub(crate) const REGIONS: [&str; 3] = ["us-east", "us-west", "eu-west"];

/// Every test user's password.
pub(crate) const PASSWORD: &str = "correct horse";

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

pub(crate) struct TestOrigin {
    pub region: String,
    pub address: String,
    /// The admin listener (`/readyz`, `/metrics`).
    pub admin_address: String,
    client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
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

    /// Count of rows in one node's own table (not through any foreign table).
    pub(crate) async fn count_local(&self, region: &str, table: &str, filter: &str) -> i64 {
        let local = roam_origin::schema::names::local_table(table, region);
        let sql = format!("SELECT count(*) FROM ONLY {local} WHERE {filter}");
        sqlx::query_scalar(&sql)
            .fetch_one(self.node(region))
            .await
            .expect("count")
    }

    /// Waits (up to 20 s) until `region`'s node has at least `rows` rider_regions rows: the
    /// rider_region jobs have told it where its riders rode.
    pub(crate) async fn until_rider_regions(&self, region: &str, rows: i64) {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while self.count_local(region, "rider_regions", "true").await < rows {
            assert!(
                std::time::Instant::now() < deadline,
                "{region}: fewer than {rows} rider_regions rows: the rider_region jobs never ran"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// How many statements a region's node has run in this test's database that mention any
    /// of `tables` (from pg_stat_statements: counts are exact where timings are not).
    pub(crate) async fn statement_calls(&self, region: &str, tables: &[&str]) -> i64 {
        let patterns: Vec<String> = tables.iter().map(|t| format!("%{t}%")).collect();
        sqlx::query_scalar(
            "SELECT COALESCE(sum(s.calls), 0)::bigint FROM pg_stat_statements s \
             JOIN pg_database d ON d.oid = s.dbid \
             WHERE d.datname = current_database() AND s.query ILIKE ANY($1)",
        )
        .bind(&patterns)
        .fetch_one(self.node(region))
        .await
        .expect("pg_stat_statements")
    }

    /// Signs `email` up through `via`'s origin as `name`, at home in `city`; asserts the 201
    /// and returns the user's id.
    pub(crate) async fn sign_up(&self, via: &str, email: &str, name: &str, city: &str) -> Uuid {
        let r = self.origin(via).sign_up(email, name, city).send().await;
        assert_eq!(r.status, 201, "{}", r.text());
        r.id()
    }

    /// Logs `email` in through `via`'s origin with [`PASSWORD`]; asserts the 200 and returns
    /// the token.
    pub(crate) async fn log_in(&self, via: &str, email: &str) -> String {
        let r = self.origin(via).log_in(email, PASSWORD).send().await;
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["token"].as_str().unwrap().to_string()
    }

    /// Starts a ride on `vehicle` of `city` through `via`'s origin; asserts the 201 and returns
    /// the ride's id.
    pub(crate) async fn start_ride(
        &self,
        via: &str,
        city: &str,
        vehicle: Uuid,
        token: &str,
    ) -> Uuid {
        let r = self
            .origin(via)
            .start_ride(city, vehicle)
            .token(token)
            .send()
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        r.id()
    }

    /// Signs up and logs in a user whose home is `city`; returns (user id, token).
    pub(crate) async fn user(&self, city: &str) -> (Uuid, String) {
        let email = fresh_email();
        let origin = &self.origins[0];
        let r = origin.sign_up(&email, "Test Rider", city).send().await;
        assert_eq!(r.status, 201, "{}", r.text());
        let r = origin.log_in(&email, PASSWORD).send().await;
        assert_eq!(r.status, 200, "{}", r.text());
        let id = r.json()["user"]["id"].as_str().unwrap().parse().unwrap();
        (id, r.json()["token"].as_str().unwrap().to_string())
    }

    /// Adds a vehicle in `city` through the city's home origin; returns its id.
    pub(crate) async fn vehicle(&self, city: &str, token: &str) -> Uuid {
        let home = RegionMap::builtin()
            .home_region_of(city)
            .unwrap()
            .name
            .clone();
        let r = self
            .origin(&home)
            .add_vehicle(city, "scooter", &format!("1 Main St, {city}"))
            .token(token)
            .send()
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        r.id()
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

impl TestOrigin {
    pub(crate) async fn spawn(config: Config) -> Self {
        let region = config.region.clone();
        let app = Application::build(config).await.expect("build");
        let address = format!("http://127.0.0.1:{}", app.port());
        let admin_address = format!("http://127.0.0.1:{}", app.admin_port());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            app.run_until(async {
                let _ = rx.await;
            })
            .await
            .expect("origin failed");
        });
        Self {
            region,
            address,
            admin_address,
            client: reqwest::Client::new(),
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    pub(crate) fn client(&self) -> reqwest::Client {
        self.client.clone()
    }

    /// Asks it to stop (graceful shutdown) without waiting.
    pub(crate) fn signal_stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Waits until it has stopped; false if it did not within `limit`.
    pub(crate) async fn stopped_within(&mut self, limit: Duration) -> bool {
        match self.task.take() {
            Some(task) => tokio::time::timeout(limit, task).await.is_ok(),
            None => true,
        }
    }

    pub(crate) async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }

    /// A GET on the admin listener, as its text.
    pub(crate) async fn admin(&self, path: &str) -> (u16, String) {
        let r = self
            .client
            .get(format!("{}{path}", self.admin_address))
            .send()
            .await
            .expect("the admin listener answers");
        let status = r.status().as_u16();
        (status, r.text().await.unwrap_or_default())
    }

    pub(crate) fn get(&self, path: &str) -> Req {
        Req::new(self, "GET", path)
    }

    #[allow(clippy::needless_pass_by_value)] // json!(…) at every call site reads best
    pub(crate) fn post(&self, path: &str, body: Value) -> Req {
        Req::new(self, "POST", path).body(body.to_string().into_bytes(), "application/json")
    }

    pub(crate) fn request(&self, method: &'static str, path: &str) -> Req {
        Req::new(self, method, path)
    }
}
