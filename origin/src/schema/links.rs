//! The links between nodes: for every other region a `postgres_fdw` server, a user mapping
//! and a foreign partition of each partitioned table pointing at that region's local table.
//! (Requests do not use them, see `storage::Nodes`; `seed`, `reconcile-claims` and ad-hoc SQL
//! do.)

use std::str::FromStr;

use anyhow::Context;
use roam_shared::RegionMap;
use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::PgConnectOptions;

use crate::libpq_url::split_hosts;

use super::names::{ident, literal, local_table, value_list, CITY_TABLES};

/// Where another region's node is, as its FDW server needs it.
#[derive(Clone)]
pub struct Peer {
    /// Host and port of each of its hosts (several: a group under pg_auto_failover, where
    /// libpq picks the one that takes writes).
    pub hosts: Vec<(String, u16)>,
    /// Database name on that node.
    pub dbname: String,
    /// Role the FDW connects as.
    pub user: String,
    /// That role's password (from the peer URL, a secret: never printed).
    pub password: Option<SecretString>,
    /// The URL's TLS parameters (`sslmode`, `sslrootcert`), given to libpq as they are: the
    /// link then encrypts and checks its peer's certificate as the origin's own pool does.
    /// A file path is read on the database's host (the same file, where they share a machine).
    pub tls: Vec<(String, String)>,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer")
            .field("hosts", &self.hosts)
            .field("dbname", &self.dbname)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("tls", &self.tls)
            .finish()
    }
}

impl Peer {
    /// Reads a peer from a `postgres://user[:password]@host:port[,host:port…]/db` URL.
    pub fn from_url(url: &str) -> anyhow::Result<Self> {
        let mut peer: Option<Peer> = None;
        for (_, one_host) in split_hosts(url)? {
            let options =
                PgConnectOptions::from_str(&one_host).context("peer URL is not a postgres URL")?;
            let host = (options.get_host().to_string(), options.get_port());
            match &mut peer {
                Some(peer) => peer.hosts.push(host),
                None => {
                    let dbname = options
                        .get_database()
                        .context("peer URL must name a database")?
                        .to_string();
                    peer = Some(Peer {
                        hosts: vec![host],
                        dbname,
                        user: options.get_username().to_string(),
                        password: password_of(&one_host),
                        tls: tls_params(&one_host),
                    });
                }
            }
        }
        peer.context("peer URL names no host")
    }
}

/// The (percent-decoded) password of a one-host URL, if it has one.
fn password_of(url: &str) -> Option<SecretString> {
    let authority = url.split_once("://")?.1.split(['/', '?']).next()?;
    let userinfo = &authority[..authority.rfind('@')?];
    let (_, password) = userinfo.split_once(':')?;
    let decoded = percent_decode(password);
    (!decoded.is_empty()).then(|| SecretString::from(decoded))
}

/// The libpq TLS parameters a link carries over from a URL's query.
const TLS_PARAMS: [&str; 2] = ["sslmode", "sslrootcert"];

/// The (percent-decoded) TLS parameters of a URL's query, in [`TLS_PARAMS`] order.
fn tls_params(url: &str) -> Vec<(String, String)> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let pairs: Vec<(&str, &str)> = query.split('&').filter_map(|p| p.split_once('=')).collect();
    TLS_PARAMS
        .iter()
        .filter_map(|name| {
            let (_, value) = pairs.iter().rev().find(|(key, _)| key == name)?;
            Some((name.to_string(), percent_decode(value)))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = text
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The FDW server name for a region's node.
pub fn server_name(region: &str) -> String {
    format!("node_{}", region.replace('-', "_"))
}

/// The SQL that links this node to `region`'s node at `peer`. Idempotent; re-running follows
/// a node that moved (new hosts, new database, new password).
pub fn link_sql(map: &RegionMap, region: &str, peer: &Peer) -> Vec<String> {
    let server_name = server_name(region);
    let server = ident(&server_name);
    let mut sql = server_sql(&server, &server_name, &server_options(peer));
    sql.extend(user_mapping_sql(
        &server,
        &server_name,
        &mapping_options(peer),
    ));
    sql.extend(foreign_tables_sql(map, region, &server));
    sql
}

/// The foreign server's options: where the peer is, and its TLS settings.
fn server_options(peer: &Peer) -> Vec<(&str, String)> {
    let hosts: Vec<&str> = peer.hosts.iter().map(|(h, _)| h.as_str()).collect();
    let ports: Vec<String> = peer.hosts.iter().map(|(_, p)| p.to_string()).collect();
    // With several hosts, libpq skips the ones that do not take writes.
    let attrs = if peer.hosts.len() > 1 {
        "read-write"
    } else {
        "any"
    };
    let mut options = vec![
        ("host", hosts.join(",")),
        ("port", ports.join(",")),
        ("dbname", peer.dbname.clone()),
        ("target_session_attrs", attrs.to_string()),
    ];
    options.extend(peer.tls.iter().map(|(n, v)| (n.as_str(), v.clone())));
    options
}

/// The user mapping's options: who to log in as on the peer.
fn mapping_options(peer: &Peer) -> Vec<(&'static str, String)> {
    let mut options = vec![("user", peer.user.clone())];
    if let Some(password) = &peer.password {
        options.push(("password", password.expose_secret().to_string()));
    }
    options
}

/// Creates the foreign server, then sets each of its options.
fn server_sql(server: &str, server_name: &str, options: &[(&str, String)]) -> Vec<String> {
    let mut sql = vec![format!(
        "CREATE SERVER IF NOT EXISTS {server} FOREIGN DATA WRAPPER postgres_fdw \
         OPTIONS (async_capable 'true', fetch_size '500')"
    )];
    sql.extend(options.iter().map(|(name, value)| {
        set_option(
            &format!("SERVER {server}"),
            &format!(
                "SELECT srvoptions AS options FROM pg_foreign_server WHERE srvname = {}",
                literal(server_name)
            ),
            name,
            value,
        )
    }));
    sql
}

/// Creates the server's user mapping for PUBLIC, then sets each of its options.
fn user_mapping_sql(server: &str, server_name: &str, options: &[(&str, String)]) -> Vec<String> {
    let mut sql = vec![format!(
        "CREATE USER MAPPING IF NOT EXISTS FOR PUBLIC SERVER {server}"
    )];
    sql.extend(options.iter().map(|(name, value)| {
        set_option(
            &format!("USER MAPPING FOR PUBLIC SERVER {server}"),
            &format!(
                "SELECT umoptions AS options FROM pg_user_mappings \
                 WHERE srvname = {} AND usename = 'public'",
                literal(server_name)
            ),
            name,
            value,
        )
    }));
    sql
}

/// The region's partitions as foreign tables on its server: each city table's (when the
/// region has cities), then its email claims.
fn foreign_tables_sql(map: &RegionMap, region: &str, server: &str) -> Vec<String> {
    let mut sql = Vec::new();
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

/// `ALTER <what> OPTIONS (SET|ADD name 'value')`, whichever applies: `options_query` selects
/// the object's current options array.
fn set_option(what: &str, options_query: &str, name: &str, value: &str) -> String {
    let value = literal(value);
    format!(
        "DO $roam$ BEGIN \
           IF EXISTS (SELECT 1 FROM ({options_query}) o, unnest(o.options) AS option \
                      WHERE option LIKE '{name}=%') THEN \
             ALTER {what} OPTIONS (SET {name} {value}); \
           ELSE \
             ALTER {what} OPTIONS (ADD {name} {value}); \
           END IF; \
         END $roam$"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multi_host_peer_with_a_password_links_to_whichever_host_takes_writes() {
        let peer = Peer::from_url(
            "postgres://fdw:s%40cret@10.0.0.1:5432,10.0.0.2:5433/roam?target_session_attrs=read-write&sslmode=verify-full&sslrootcert=/etc/roam/ca%20links.pem",
        )
        .unwrap();
        assert_eq!(
            peer.hosts,
            [("10.0.0.1".into(), 5432), ("10.0.0.2".into(), 5433)]
        );
        assert_eq!(
            peer.password
                .as_ref()
                .map(|p| p.expose_secret().to_string()),
            Some("s@cret".into())
        );
        assert!(!format!("{peer:?}").contains("cret"), "never printed");
        let sql = link_sql(RegionMap::builtin(), "us-west", &peer).join(";\n");
        assert!(
            sql.contains("SET host '10.0.0.1,10.0.0.2'") && sql.contains("ADD port '5432,5433'")
        );
        assert!(sql.contains("target_session_attrs 'read-write'"));
        assert!(sql.contains("password 's@cret'"));
        assert!(sql.contains("ADD sslmode 'verify-full'"));
        assert!(sql.contains("ADD sslrootcert '/etc/roam/ca links.pem'"));
        let single = Peer::from_url("postgres://postgres@127.0.0.1:6000/roam").unwrap();
        assert!(single.password.is_none());
        let sql = link_sql(RegionMap::builtin(), "us-west", &single).join(";\n");
        assert!(sql.contains("target_session_attrs 'any'") && !sql.contains("password"));
        assert!(
            !sql.contains("sslmode"),
            "libpq's default where the URL says nothing"
        );
    }
}
