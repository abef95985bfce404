//! Clean-up that survives its owner: a detached shell waits for the owning process to exit
//! (however it exits, SIGKILL included: statics are never dropped), then kills what it was
//! told to, stops PostgreSQL servers by data directory, and removes the folder.

use std::path::{Path, PathBuf};

use anyhow::Result;
use roam_shared::RegionMap;

use super::server::{bin_dir, is_root, SERVER_USER};
use super::PgCluster;

/// One cluster per test process, started on first use and stopped by a reaper process
/// once the test process exits.
pub async fn test_cluster() -> &'static PgCluster {
    static CLUSTER: tokio::sync::OnceCell<PgCluster> = tokio::sync::OnceCell::const_new();
    CLUSTER
        .get_or_init(|| async {
            let root = std::env::temp_dir().join(format!("roam-test-pg-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&root);
            let cluster = match PgCluster::start(&root, RegionMap::builtin()).await {
                Ok(cluster) => cluster,
                Err(e) => panic!("could not start the test PostgreSQL cluster: {e:#}"),
            };
            if let Err(e) = reap_when_gone(std::process::id(), &root, &cluster, &[]) {
                panic!("could not start the test cluster's reaper: {e:#}");
            }
            cluster
        })
        .await
}

/// Starts a detached shell that waits for `pid` to exit, then kills the process groups
/// `pgids`, stops the nodes and removes `root`.
pub fn reap_when_gone(pid: u32, root: &Path, cluster: &PgCluster, pgids: &[u32]) -> Result<()> {
    let data_dirs: Vec<PathBuf> = cluster.nodes.iter().map(|n| n.data_dir.clone()).collect();
    reap_servers_when_gone(pid, root, &data_dirs, pgids)
}

/// Like [`reap_when_gone`] for any PostgreSQL data directories (pg_auto_failover's too: their
/// `pg_autoctl` supervisors are process groups of their own, killed by their own reapers).
pub fn reap_servers_when_gone(
    pid: u32,
    root: &Path,
    data_dirs: &[PathBuf],
    pgids: &[u32],
) -> Result<()> {
    let pg_ctl = bin_dir()?.join("pg_ctl");
    let as_server = if is_root() {
        format!("runuser -u {SERVER_USER} -- ")
    } else {
        String::new()
    };
    // The second's pause lets pg_auto_failover's supervisors die by their own reapers first, so
    // none of them starts a server again after the stop below.
    let mut script = format!("while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; sleep 1; ");
    for pgid in pgids {
        script.push_str(&format!("env kill -KILL -- -{pgid} 2>/dev/null; "));
    }
    for data_dir in data_dirs {
        script.push_str(&format!(
            "{as_server}'{}' stop -D '{}' -m immediate >/dev/null 2>&1; ",
            pg_ctl.display(),
            data_dir.display()
        ));
    }
    script.push_str(&format!("rm -rf '{}'", root.display()));
    crate::process::spawn_reaper_script(script)
}
