//! Residency: a user's email, name and password hash are stored only on their home node. The
//! proof searches every text column of every table that other nodes store themselves; and the
//! plaintext claims of the previous version are hashed away by `reconcile-claims`.

use std::path::Path;

use roam_origin::schema::names::local_table;
use roam_shared::email_claim::ClaimKeys;
use roam_shared::email_claim::{claim_region, ClaimKey};
use roam_shared::RegionMap;
use roam_stack::pg::test_cluster;
use uuid::Uuid;

use crate::helpers::{spawn_stack, TestStack, PASSWORD, REGIONS};

/// Rows of `region`'s own tables (not foreign ones) whose text, JSON or byte columns contain
/// `needle`, as `table.column` per hit.
async fn found_on(stack: &TestStack, region: &str, needle: &str) -> Vec<String> {
    let columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.relname::text, a.attname::text FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
         WHERE n.nspname = 'public' AND c.relkind = 'r' \
           AND a.atttypid IN ('text'::regtype, 'varchar'::regtype, 'json'::regtype, \
                              'jsonb'::regtype, 'bytea'::regtype)",
    )
    .fetch_all(stack.node(region))
    .await
    .unwrap();
    let mut hits = Vec::new();
    for (table, column) in columns {
        let sql = format!(
            "SELECT count(*) FROM ONLY \"{table}\" WHERE \"{column}\"::text ILIKE '%' || $1 || '%'"
        );
        let n: i64 = sqlx::query_scalar(&sql)
            .bind(needle)
            .fetch_one(stack.node(region))
            .await
            .unwrap();
        if n > 0 {
            hits.push(format!("{table}.{column}"));
        }
    }
    hits
}

#[tokio::test]
async fn email_name_and_password_hash_are_stored_only_on_the_home_node() {
    let stack = spawn_stack().await;
    let (_, owner) = stack.user("boston").await;
    let mut people = Vec::new();
    for (i, (city, home, away)) in [
        ("rome", "eu-west", "new-york"),
        ("boston", "us-east", "seattle"),
        ("seattle", "us-west", "paris"),
    ]
    .into_iter()
    .enumerate()
    {
        let marker = Uuid::new_v4().simple().to_string();
        let email = format!("resident-{marker}@example.com");
        // Signed up through another region's origin, logged in as a traveller, and riding
        // in another region: every path that could leave a copy behind.
        let via = REGIONS[(i + 1) % 3];
        let key = Uuid::new_v4().simple().to_string();
        let r = stack
            .origin(via)
            .sign_up(&email, &format!("Resident {marker}"), city)
            .key(&key)
            .send()
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let token = stack.log_in(REGIONS[(i + 2) % 3], &email).await;
        let vehicle = stack.vehicle(away, &owner).await;
        stack.start_ride(via, away, vehicle, &token).await;
        people.push((home, marker));
    }
    for (home, marker) in &people {
        let at_home = found_on(&stack, home, marker).await;
        assert!(
            at_home.iter().any(|hit| hit.starts_with("users_")),
            "the search finds the user at home: {at_home:?}"
        );
        for region in REGIONS.into_iter().filter(|r| r != home) {
            let hits = found_on(&stack, region, marker).await;
            assert!(hits.is_empty(), "{home}'s user found on {region}: {hits:?}");
        }
    }
    stack.cleanup().await;
}

/// What the previous version built on each node, minimally: its migrations (up to 0011), the
/// local partitions of `users` and of `email_claims` keyed by the plaintext email, and the
/// other regions' claims as foreign partitions.
async fn previous_version(stack: &mut TestStack, map: &RegionMap) {
    stack.connect(map).await;
    let old = tempfile_dir("roam-previous-migrations");
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for entry in std::fs::read_dir(&here).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.ends_with(".sql") && name.as_str() < "0012" {
            std::fs::copy(&path, old.join(&name)).unwrap();
        }
    }
    let migrator = sqlx::migrate::Migrator::new(old.as_path()).await.unwrap();
    for region in REGIONS {
        let pool = stack.node(region);
        migrator.run(pool).await.unwrap();
        let cities: Vec<String> = map
            .cities_in(region)
            .map(|c| format!("'{}'", c.slug))
            .collect();
        let mut sql = vec![
            format!(
                "CREATE TABLE {} PARTITION OF users (PRIMARY KEY (city, id)) FOR VALUES IN ({})",
                local_table("users", region),
                cities.join(", ")
            ),
            format!(
                "CREATE TABLE {} PARTITION OF email_claims (PRIMARY KEY (region, email)) \
                 FOR VALUES IN ('{region}')",
                local_table("email_claims", region)
            ),
            "CREATE EXTENSION IF NOT EXISTS postgres_fdw".to_string(),
        ];
        for other in REGIONS.into_iter().filter(|o| *o != region) {
            let server = format!("node_{}", other.replace('-', "_"));
            sql.push(format!(
                "CREATE SERVER {server} FOREIGN DATA WRAPPER postgres_fdw \
                 OPTIONS (host '127.0.0.1', port '{}', dbname '{}')",
                stack.node_port(other),
                stack.database
            ));
            sql.push(format!(
                "CREATE USER MAPPING FOR PUBLIC SERVER {server} OPTIONS (user 'postgres')"
            ));
            let table = local_table("email_claims", other);
            sql.push(format!(
                "CREATE FOREIGN TABLE {table} PARTITION OF email_claims FOR VALUES IN \
                 ('{other}') SERVER {server} OPTIONS (table_name '{table}')"
            ));
        }
        for statement in sql {
            sqlx::query(&statement).execute(pool).await.unwrap();
        }
    }
    let _ = std::fs::remove_dir_all(&old);
}

fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("{name}-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Users as the previous version stored them, one per city of four, each with a plaintext
/// claim on the node a plain SHA-256 of the email chose; returns their emails.
async fn previous_versions_users(stack: &TestStack, map: &RegionMap, hash: &str) -> Vec<String> {
    let mut emails = Vec::new();
    for (i, city) in ["rome", "boston", "seattle", "paris"]
        .into_iter()
        .enumerate()
    {
        let email = format!("old-{i}-{}@example.com", Uuid::new_v4().simple());
        let home = &map.city(city).unwrap().region;
        let id = Uuid::new_v4();
        sqlx::query(
            "INSERT INTO users (city, id, name, email, password_hash) VALUES ($1, $2, 'Old', $3, $4)",
        )
        .bind(city)
        .bind(id)
        .bind(&email)
        .bind(hash)
        .execute(stack.node(home))
        .await
        .unwrap();
        // The previous version's claims sat on a node chosen by a plain SHA-256 of the email.
        let claim_node = REGIONS[i % 3];
        sqlx::query(
            "INSERT INTO email_claims (region, email, user_id, city) VALUES ($1, $2, $3, $4)",
        )
        .bind(claim_node)
        .bind(&email)
        .bind(id)
        .bind(city)
        .execute(stack.node(claim_node))
        .await
        .unwrap();
        emails.push(email);
    }
    emails
}

#[tokio::test]
async fn the_previous_versions_plaintext_claims_are_hashed_then_dropped() {
    let map = RegionMap::builtin();
    let mut stack = TestStack::unmigrated(test_cluster().await, |c| c.argon2_memory_kib = 256);
    previous_version(&mut stack, map).await;
    let hash = roam_origin::password::Hasher::unbounded_wait(256)
        .hash(PASSWORD.into())
        .await
        .unwrap();
    let emails = previous_versions_users(&stack, map, &hash).await;
    stack.migrate(map).await;
    let keys = ClaimKeys::development();
    stack.reconcile_claims_everywhere(map, &keys).await;
    for region in REGIONS {
        let legacy: bool = sqlx::query_scalar("SELECT to_regclass('legacy_email_claims') IS NULL")
            .fetch_one(stack.node(region))
            .await
            .unwrap();
        assert!(legacy, "{region}: the plaintext claims are gone");
    }
    stack.start_origins(map).await;
    for email in &emails {
        let hashed = ClaimKey::development().hash(email);
        let node = claim_region(map, &hashed).name.clone();
        let filter = format!("email_hash = '{hashed}'");
        assert_eq!(
            stack.count_local(&node, "email_claims", &filter).await,
            1,
            "{email}"
        );
        for region in REGIONS {
            let r = stack.origin(region).log_in(email, PASSWORD).send().await;
            assert_eq!(
                r.status,
                200,
                "{email} logs in through {region}: {}",
                r.text()
            );
        }
        stack.assert_email_taken("us-east", email, "new-york").await;
    }
    stack.cleanup().await;
}
