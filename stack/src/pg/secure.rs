//! Nodes locked down the way production runs them: the application role gets in only over
//! TLS (a certificate from a CA made here, for 127.0.0.1) with a SCRAM password, and
//! `pg_hba.conf` has no other way in for it. The superuser keeps its loopback `trust` line:
//! that is the harness's own door (creating databases, reading tables), not roam's.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rand::distributions::{Alphanumeric, DistString};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

use super::server::hand_to_server_user;
use super::{PgCluster, PgNode};

/// How the application role reaches a secured node.
pub struct SecureAccess {
    /// The role origins and links log in as.
    pub role: String,
    password: String,
    /// The CA that signed every node's certificate (PEM), readable by the nodes' OS user too:
    /// a postgres_fdw link verifies its peer with it.
    pub ca_file: PathBuf,
}

impl std::fmt::Debug for SecureAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecureAccess")
            .field("role", &self.role)
            .field("password", &"<redacted>")
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

impl SecureAccess {
    /// The URL of `database` on `node` as the application role, over TLS with the node's
    /// certificate checked against the CA and the host name (`verify-full`).
    pub fn url(&self, node: &PgNode, database: &str) -> String {
        self.url_with(node, database, "verify-full")
    }

    /// Like [`SecureAccess::url`] with another `sslmode` (e.g. `disable`, which the node must
    /// refuse).
    pub fn url_with(&self, node: &PgNode, database: &str, sslmode: &str) -> String {
        format!(
            "postgres://{}:{}@127.0.0.1:{}/{database}?sslmode={sslmode}&sslrootcert={}",
            self.role,
            self.password,
            node.port,
            self.ca_file.display()
        )
    }
}

/// Secures every node of `cluster`: a CA and a certificate per node under `dir`, `ssl=on`,
/// SCRAM password hashing, the role `role` (superuser: it runs migrations and owns the links)
/// with a fresh random password, and a `pg_hba.conf` that admits it only by `hostssl` +
/// `scram-sha-256`. The nodes reload; no restart.
pub async fn secure_cluster(cluster: &PgCluster, dir: &Path, role: &str) -> Result<SecureAccess> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "roam test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key)?;
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca.pem())?;
    let access = SecureAccess {
        role: role.to_string(),
        password: Alphanumeric.sample_string(&mut rand::thread_rng(), 24),
        ca_file,
    };
    for node in &cluster.nodes {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(vec!["127.0.0.1".to_string()])?;
        params
            .distinguished_name
            .push(DnType::CommonName, format!("roam {}", node.region));
        let cert = params.signed_by(&key, &ca, &ca_key)?;
        write_server_file(&node.data_dir.join("server.crt"), &cert.pem())?;
        write_server_file(&node.data_dir.join("server.key"), &key.serialize_pem())?;
        std::fs::write(node.data_dir.join("pg_hba.conf"), hba(role))
            .context("writing pg_hba.conf")?;
        node.psql_query(format!(
            "CREATE ROLE {role} SUPERUSER LOGIN PASSWORD '{}'",
            access.password
        ))
        .await?;
        for setting in [
            "ssl = on",
            "ssl_cert_file = 'server.crt'",
            "ssl_key_file = 'server.key'",
            "password_encryption = 'scram-sha-256'",
        ] {
            node.psql_query(format!("ALTER SYSTEM SET {setting}"))
                .await?;
        }
        node.psql_query("SELECT pg_reload_conf()".into()).await?;
    }
    Ok(access)
}

/// The only ways in: the application role over TLS with a SCRAM password, the harness's
/// superuser on loopback. Everything else matches no line and is rejected.
fn hba(role: &str) -> String {
    format!(
        "# roam secured node (stack/src/pg/secure.rs)\n\
         hostssl all {role} 127.0.0.1/32 scram-sha-256\n\
         host    all postgres 127.0.0.1/32 trust\n"
    )
}

/// Writes a file the server reads (its key must be private to the server's OS user).
fn write_server_file(path: &Path, contents: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    hand_to_server_user(path)
}
