//! The node-specific half of the schema, generated from the region map.
//!
//! On the node of region R: the reference tables, a local partition of every partitioned table
//! for R's cities (with the primary key), and for every other region the link to its node
//! (`links`). Every statement is idempotent, so
//! re-running after adding a region to the map adds exactly what is new.

use std::collections::BTreeMap;

use anyhow::{bail, Context};
use roam_shared::RegionMap;
use sqlx::PgPool;

use super::links::{self, Peer};
use super::names::{ident, literal, local_table, value_list, CITY_TABLES};
use super::partitions;

/// The SQL that makes the node of `region` match the map: reference data, local partitions,
/// and the links to every other region's node (FDW servers, user mappings, foreign
/// partitions: `links`). `peers` must hold every other region.
pub fn topology_sql(
    map: &RegionMap,
    region: &str,
    peers: &BTreeMap<String, Peer>,
) -> anyhow::Result<Vec<String>> {
    if map.region(region).is_none() {
        bail!("region `{region}` is not in the region map");
    }
    let mut sql = vec!["CREATE EXTENSION IF NOT EXISTS postgres_fdw".to_string()];
    sql.extend(reference_sql(map));
    sql.extend(local_partitions_sql(map, region));
    for other in map.regions.iter().filter(|r| r.name != region) {
        let peer = peers.get(&other.name).with_context(|| {
            format!(
                "no peer URL for region `{}` (pass --peer {}=URL)",
                other.name, other.name
            )
        })?;
        sql.extend(links::link_sql(map, &other.name, peer));
    }
    Ok(sql)
}

/// Upserts of the reference tables, the same on every node.
fn reference_sql(map: &RegionMap) -> Vec<String> {
    let regions = map.regions.iter().map(|r| {
        format!(
            "INSERT INTO regions (name, label, lat, lon) VALUES ({}, {}, {}, {}) \
             ON CONFLICT (name) DO UPDATE SET label = excluded.label, lat = excluded.lat, lon = excluded.lon",
            literal(&r.name),
            literal(&r.label),
            r.lat,
            r.lon
        )
    });
    let cities = map.cities.iter().map(|c| {
        format!(
            "INSERT INTO cities (slug, name, region, country, lat, lon) VALUES ({}, {}, {}, {}, {}, {}) \
             ON CONFLICT (slug) DO UPDATE SET name = excluded.name, region = excluded.region, \
             country = excluded.country, lat = excluded.lat, lon = excluded.lon",
            literal(&c.slug),
            literal(&c.name),
            literal(&c.region),
            literal(&c.country),
            c.lat,
            c.lon
        )
    });
    regions.chain(cities).collect()
}

/// This node's own partitions, with their primary keys.
fn local_partitions_sql(map: &RegionMap, region: &str) -> Vec<String> {
    let cities = value_list(map.cities_in(region).map(|c| c.slug.as_str()));
    let mut sql = Vec::new();
    if !cities.is_empty() {
        for (table, key) in CITY_TABLES {
            sql.push(format!(
                "CREATE TABLE IF NOT EXISTS {} PARTITION OF {table} (PRIMARY KEY ({key})) \
                 FOR VALUES IN ({cities})",
                ident(&local_table(table, region))
            ));
        }
        sql.extend(here_views_sql(region));
    }
    sql.push(format!(
        "CREATE TABLE IF NOT EXISTS {} PARTITION OF email_claims (PRIMARY KEY (region, email_hash)) \
         FOR VALUES IN ({})",
        ident(&local_table("email_claims", region)),
        literal(region)
    ));
    sql
}

/// `here.<table>`: a view of this node's own partition of every city table, under one name on
/// every node, for the statements an origin sends to a city's node (`storage`, `http`).
///
/// Why not the parent table: on a node whose parents also hold other regions' foreign
/// partitions, PostgreSQL prices a generic plan of `WHERE city = $1` with those partitions in
/// it, so it never picks one and plans every execution anew (0.1–0.2 ms each, several per
/// request: what made an at-home request slower multi-region than single-region). On the view
/// the plan is the local partition's; a row of another region's city is refused (partition
/// constraint) or not found, never read or written elsewhere. A migration that drops or
/// retypes a column of a city table drops `here.<table>` first; the topology recreates it.
fn here_views_sql(region: &str) -> Vec<String> {
    let mut sql = vec!["CREATE SCHEMA IF NOT EXISTS here".to_string()];
    for (table, _) in CITY_TABLES {
        sql.push(format!(
            "CREATE OR REPLACE VIEW here.{table} AS SELECT * FROM {}",
            ident(&local_table(table, region))
        ));
    }
    sql
}

/// Applies [`topology_sql`] (after [`partitions::reconcile_sql`]) to a node in one transaction.
pub async fn apply(
    pool: &PgPool,
    map: &RegionMap,
    region: &str,
    peers: &BTreeMap<String, Peer>,
) -> anyhow::Result<()> {
    let mut statements = topology_sql(map, region, peers)?;
    let mut tx = pool.begin().await?;
    // Two migrations of one node at once would race on IF NOT EXISTS; serialise them.
    sqlx::query("SELECT pg_advisory_xact_lock(7346001)")
        .execute(&mut *tx)
        .await?;
    // Bounds that changed (a city joined a region) first; the topology then creates whatever
    // is missing, including the foreign partitions dropped to be re-bounded.
    let existing = partitions::existing(&mut tx).await?;
    let mut reconcile = partitions::reconcile_sql(&existing, map);
    reconcile.append(&mut statements);
    for statement in &reconcile {
        sqlx::query(statement)
            .execute(&mut *tx)
            .await
            .with_context(|| format!("topology statement failed: {statement}"))?;
    }
    tx.commit().await?;
    Ok(())
}

/// Runs the migrations, then the topology, on one node.
pub async fn migrate(
    pool: &PgPool,
    map: &RegionMap,
    region: &str,
    peers: &BTreeMap<String, Peer>,
) -> anyhow::Result<()> {
    sqlx::migrate!("./migrations")
        .run(pool)
        .await
        .context("running migrations")?;
    apply(pool, map, region, peers).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peers(except: &str) -> BTreeMap<String, Peer> {
        ["us-east", "us-west", "eu-west"]
            .into_iter()
            .filter(|r| *r != except)
            .enumerate()
            .map(|(i, r)| {
                let peer = Peer {
                    hosts: vec![("127.0.0.1".into(), 6000 + i as u16)],
                    dbname: "roam".into(),
                    user: "postgres".into(),
                    password: None,
                    tls: Vec::new(),
                };
                (r.to_string(), peer)
            })
            .collect()
    }

    #[test]
    fn local_and_foreign_partitions_follow_the_map() {
        let sql = topology_sql(RegionMap::builtin(), "eu-west", &peers("eu-west")).unwrap();
        let all = sql.join(";\n");
        assert!(all.contains(
            "CREATE TABLE IF NOT EXISTS \"users_eu_west\" PARTITION OF users (PRIMARY KEY (city, id)) \
             FOR VALUES IN ('amsterdam', 'paris', 'rome')"
        ));
        assert!(all.contains(
            "\"idempotency_eu_west\" PARTITION OF idempotency (PRIMARY KEY (city, key))"
        ));
        assert!(all.contains(
            "CREATE FOREIGN TABLE IF NOT EXISTS \"rides_us_west\" PARTITION OF rides FOR VALUES IN \
             ('los-angeles', 'san-francisco', 'seattle') SERVER \"node_us_west\" OPTIONS (table_name 'rides_us_west')"
        ));
        assert!(all.contains(
            "\"email_claims_us_east\" PARTITION OF email_claims FOR VALUES IN ('us-east')"
        ));
        assert!(
            all.contains("CREATE OR REPLACE VIEW here.rides AS SELECT * FROM \"rides_eu_west\"")
        );
        assert!(
            !all.contains("SERVER \"node_eu_west\""),
            "no server for the node itself"
        );
        assert_eq!(
            sql.iter()
                .filter(|s| s.starts_with("CREATE SERVER"))
                .count(),
            2
        );
    }

    #[test]
    fn a_new_region_adds_its_server_and_partitions() {
        let mut map = RegionMap::builtin().clone();
        let mut region = map.regions[0].clone();
        region.name = "ap-south".into();
        map.regions.push(region);
        let mut city = map.cities[0].clone();
        city.slug = "mumbai".into();
        city.region = "ap-south".into();
        map.cities.push(city);
        map.validate().unwrap();
        let mut p = peers("eu-west");
        assert!(
            topology_sql(&map, "eu-west", &p).is_err(),
            "every peer is required"
        );
        p.insert("ap-south".into(), p["us-east"].clone());
        let sql = topology_sql(&map, "eu-west", &p).unwrap().join(";\n");
        assert!(
            sql.contains("\"vehicles_ap_south\" PARTITION OF vehicles FOR VALUES IN ('mumbai')")
        );
        assert!(sql.contains("CREATE SERVER IF NOT EXISTS \"node_ap_south\""));
    }

    #[test]
    fn peers_are_read_from_urls() {
        let p = Peer::from_url("postgres://postgres@127.0.0.1:5544/t_1").unwrap();
        assert_eq!(
            (p.hosts[0].1, p.dbname.as_str(), p.user.as_str()),
            (5544, "t_1", "postgres")
        );
        assert!(Peer::from_url("mysql://x").is_err());
        assert!(topology_sql(RegionMap::builtin(), "mars", &BTreeMap::new()).is_err());
    }
}
