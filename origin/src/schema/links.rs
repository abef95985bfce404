//! The links between nodes: for every other region a `postgres_fdw` server, a user mapping
//! and a foreign partition of each partitioned table pointing at that region's local table.
//! (Requests do not use them, see `storage::Nodes`; `seed`, `reconcile-claims` and ad-hoc SQL
//! do.)

use std::str::FromStr;

use anyhow::Context;
use roam_shared::RegionMap;
use sqlx::postgres::PgConnectOptions;

use super::names::{ident, literal, local_table, value_list, CITY_TABLES};

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

/// The FDW server name for a region's node.
pub fn server_name(region: &str) -> String {
    format!("node_{}", region.replace('-', "_"))
}

/// The SQL that links this node to `region`'s node at `peer`. Idempotent; re-running follows
/// a node that moved (new port, new database).
pub fn link_sql(map: &RegionMap, region: &str, peer: &Peer) -> Vec<String> {
    let server = ident(&server_name(region));
    let (host, port, dbname) = (
        literal(&peer.host),
        literal(&peer.port.to_string()),
        literal(&peer.dbname),
    );
    let mut sql = vec![
        format!(
            "CREATE SERVER IF NOT EXISTS {server} FOREIGN DATA WRAPPER postgres_fdw \
             OPTIONS (host {host}, port {port}, dbname {dbname}, async_capable 'true', fetch_size '500')"
        ),
        format!("ALTER SERVER {server} OPTIONS (SET host {host}, SET port {port}, SET dbname {dbname})"),
        format!(
            "CREATE USER MAPPING IF NOT EXISTS FOR PUBLIC SERVER {server} OPTIONS (user {})",
            literal(&peer.user)
        ),
        format!(
            "ALTER USER MAPPING FOR PUBLIC SERVER {server} OPTIONS (SET user {})",
            literal(&peer.user)
        ),
    ];
    let mut foreign = |table: &str, bound: &str| {
        let name = local_table(table, region);
        sql.push(format!(
            "CREATE FOREIGN TABLE IF NOT EXISTS {} PARTITION OF {table} FOR VALUES IN ({bound}) \
             SERVER {server} OPTIONS (table_name {})",
            ident(&name),
            literal(&name)
        ));
    };
    let cities = value_list(map.cities_in(region).map(|c| c.slug.as_str()));
    if !cities.is_empty() {
        for (table, _) in CITY_TABLES {
            foreign(table, &cities);
        }
    }
    foreign("email_claims", &literal(region));
    sql
}
