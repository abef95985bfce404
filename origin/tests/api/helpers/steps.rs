//! What scenarios share: looks at the nodes' own tables, and the steps through an origin that
//! assert their answer (sign up, log in, a ride, a user, a vehicle, a reconciliation).

use std::time::Duration;

use roam_origin::schema::reconcile::reconcile_claims;
use roam_shared::email_claim::ClaimKeys;
use roam_shared::RegionMap;
use uuid::Uuid;

use super::{fresh_email, TestStack, PASSWORD, REGIONS};

impl TestStack {
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
    /// of `tables` (from pg_stat_statements: counts are exact where timings are not), and how
    /// many entries the node has evicted so far: a count is only comparable with another taken
    /// under the same number of evictions (an evicted statement starts again from one).
    pub(crate) async fn statement_calls(&self, region: &str, tables: &[&str]) -> (i64, i64) {
        let patterns: Vec<String> = tables.iter().map(|t| format!("%{t}%")).collect();
        sqlx::query_as(
            "SELECT (SELECT COALESCE(sum(s.calls), 0)::bigint FROM pg_stat_statements s \
               JOIN pg_database d ON d.oid = s.dbid \
               WHERE d.datname = current_database() AND s.query ILIKE ANY($1)), \
             (SELECT dealloc FROM pg_stat_statements_info)",
        )
        .bind(&patterns)
        .fetch_one(self.node(region))
        .await
        .expect("pg_stat_statements")
    }

    /// Reconciles the email claims of every node under `map` and `keys`; asserts none conflict.
    pub(crate) async fn reconcile_claims_everywhere(&self, map: &RegionMap, keys: &ClaimKeys) {
        for region in REGIONS {
            let report = reconcile_claims(self.node(region), map, region, keys)
                .await
                .unwrap();
            assert!(report.conflicts.is_empty(), "{:?}", report.conflicts);
        }
    }

    /// Asserts `email` is still taken: signing it up again through `via`'s origin, at home in
    /// `city`, answers 409.
    pub(crate) async fn assert_email_taken(&self, via: &str, email: &str, city: &str) {
        let r = self.origin(via).sign_up(email, "Again", city).send().await;
        assert_eq!(r.status, 409, "{email} is still taken: {}", r.text());
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

    /// A user at home in `city` who has added a vehicle there; returns (token, vehicle id).
    pub(crate) async fn user_with_vehicle(&self, city: &str) -> (String, Uuid) {
        let (_, token) = self.user(city).await;
        let vehicle = self.vehicle(city, &token).await;
        (token, vehicle)
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
}
