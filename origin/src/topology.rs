//! The node-specific half of the schema, generated from the region map.
//!
//! On the node of region R: a local partition of every partitioned table for R's cities (with
//! the primary key), and for every other region a `postgres_fdw` server, a user mapping and a
//! foreign partition pointing at that region's local table. Every statement is idempotent, so
//! re-running after adding a region to the map adds exactly what is new.

use std::collections::BTreeMap;
use std::str::FromStr;

use anyhow::{bail, Context};
use roam_shared::RegionMap;
use sqlx::postgres::PgConnectOptions;
use sqlx::PgPool;

use crate::partitions;

/// Where another region's node is, as its FDW server needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Database name on that node.
    pub dbname: String,
    /// Role the FDW connects as.
    pub user: String,
}

impl Peer {
    /// Reads a peer from a `postgres://user@host:port/db` URL.
    pub fn from_url(url: &str) -> anyhow::Result<Self> {
        let options = PgConnectOptions::from_str(url).context("peer URL is not a postgres URL")?;
        let dbname = options
            .get_database()
            .context("peer URL must name a database")?
            .to_string();
        Ok(Self {
            host: options.get_host().to_string(),
            port: options.get_port(),
            dbname,
            user: options.get_username().to_string(),
        })
    }
}

/// The tables partitioned by city, and their key columns on the local partition.
pub const CITY_TABLES: [(&str, &str); 7] = [
    ("users", "city, id"),
    ("vehicles", "city, id"),
    ("rides", "city, id"),
    ("idempotency", "city, key"),
    ("jobs", "city, id"),
    ("vehicle_location_history", "city, ride_id"),
    ("rider_regions", "city, rider_id, region"),
];

/// The local table of `table` on `region`'s node, e.g. `users_eu_west`.
pub fn local_table(table: &str, region: &str) -> String {
    format!("{table}_{}", region.replace('-', "_"))
}

/// The FDW server name for a region's node.
pub fn server_name(region: &str) -> String {
    format!("node_{}", region.replace('-', "_"))
}

fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn value_list<'a>(values: impl Iterator<Item = &'a str>) -> String {
    values.map(literal).collect::<Vec<_>>().join(", ")
}

/// The SQL that makes the node of `region` match the map: reference data, local partitions,
/// FDW servers, user mappings and foreign partitions. `peers` must hold every other region.
pub fn topology_sql(
    map: &RegionMap,
    region: &str,
    peers: &BTreeMap<String, Peer>,
) -> anyhow::Result<Vec<String>> {
    if map.region(region).is_none() {
        bail!("region `{region}` is not in the region map");
    }
    let mut sql = vec!["CREATE EXTENSION IF NOT EXISTS postgres_fdw".to_string()];
    for r in &map.regions {
        sql.push(format!(
            "INSERT INTO regions (name, label, lat, lon) VALUES ({}, {}, {}, {}) \
             ON CONFLICT (name) DO UPDATE SET label = excluded.label, lat = excluded.lat, lon = excluded.lon",
            literal(&r.name),
            literal(&r.label),
            r.lat,
            r.lon
        ));
    }
    for c in &map.cities {
        sql.push(format!(
            "INSERT INTO cities (slug, name, region, country, lat, lon) VALUES ({}, {}, {}, {}, {}, {}) \
             ON CONFLICT (slug) DO UPDATE SET name = excluded.name, region = excluded.region, \
             country = excluded.country, lat = excluded.lat, lon = excluded.lon",
            literal(&c.slug),
            literal(&c.name),
            literal(&c.region),
            literal(&c.country),
            c.lat,
            c.lon
        ));
    }
    for r in &map.regions {
        let cities = value_list(map.cities_in(&r.name).map(|c| c.slug.as_str()));
        let region_bound = literal(&r.name);
        if r.name == region {
            for (table, key) in CITY_TABLES {
                if !cities.is_empty() {
                    sql.push(format!(
                        "CREATE TABLE IF NOT EXISTS {} PARTITION OF {table} (PRIMARY KEY ({key})) \
                         FOR VALUES IN ({cities})",
                        ident(&local_table(table, region))
                    ));
                }
            }
            sql.push(format!(
                "CREATE TABLE IF NOT EXISTS {} PARTITION OF email_claims (PRIMARY KEY (region, email_hash)) \
                 FOR VALUES IN ({region_bound})",
                ident(&local_table("email_claims", region))
            ));
            continue;
        }
        let peer = peers.get(&r.name).with_context(|| {
            format!(
                "no peer URL for region `{}` (pass --peer {}=URL)",
                r.name, r.name
            )
        })?;
        let server = ident(&server_name(&r.name));
        sql.push(format!(
            "CREATE SERVER IF NOT EXISTS {server} FOREIGN DATA WRAPPER postgres_fdw \
             OPTIONS (host {}, port {}, dbname {}, async_capable 'true', fetch_size '500')",
            literal(&peer.host),
            literal(&peer.port.to_string()),
            literal(&peer.dbname)
        ));
        // A node that moved (new port, new database) is followed on re-run.
        sql.push(format!(
            "ALTER SERVER {server} OPTIONS (SET host {}, SET port {}, SET dbname {})",
            literal(&peer.host),
            literal(&peer.port.to_string()),
            literal(&peer.dbname)
        ));
        sql.push(format!(
            "CREATE USER MAPPING IF NOT EXISTS FOR PUBLIC SERVER {server} OPTIONS (user {})",
            literal(&peer.user)
        ));
        sql.push(format!(
            "ALTER USER MAPPING FOR PUBLIC SERVER {server} OPTIONS (SET user {})",
            literal(&peer.user)
        ));
        let mut foreign = |table: &str, bound: &str| {
            let name = local_table(table, &r.name);
            sql.push(format!(
                "CREATE FOREIGN TABLE IF NOT EXISTS {} PARTITION OF {table} FOR VALUES IN ({bound}) \
                 SERVER {server} OPTIONS (table_name {})",
                ident(&name),
                literal(&name)
            ));
        };
        if !cities.is_empty() {
            for (table, _) in CITY_TABLES {
                foreign(table, &cities);
            }
        }
        foreign("email_claims", &region_bound);
    }
    Ok(sql)
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
                    host: "127.0.0.1".into(),
                    port: 6000 + i as u16,
                    dbname: "roam".into(),
                    user: "postgres".into(),
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
            (p.port, p.dbname.as_str(), p.user.as_str()),
            (5544, "t_1", "postgres")
        );
        assert!(Peer::from_url("mysql://x").is_err());
        assert!(topology_sql(RegionMap::builtin(), "mars", &BTreeMap::new()).is_err());
    }
}
