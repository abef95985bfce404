//! What a stack starts and where ([`StackOptions`]): read by the stack itself and by each
//! part it starts (the databases, the origins).

use std::path::PathBuf;

use crate::ha::HaOptions;
use crate::topology::Topology;
use crate::wan::WanOptions;

/// What to start and where.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Data directories and logs go here.
    pub root: PathBuf,
    /// The `roam-origin` binary.
    pub origin_binary: PathBuf,
    /// The shared secret of edge and origins.
    pub secret: String,
    /// PostgreSQL ports in map order, one per single node and three per HA region (monitor,
    /// then its two nodes); free ones when `None`.
    pub pg_ports: Option<Vec<u16>>,
    /// Origin ports in map order, region by region (`origins_per_region` each; free ones when
    /// `None`).
    pub origin_ports: Option<Vec<u16>>,
    /// Origins started per region, all on the region's node: the region's pool, which the
    /// edge balances (at least 1).
    pub origins_per_region: usize,
    /// Vehicles and users seeded per city (`None`: no sample data).
    pub seed: Option<(u32, u32)>,
    /// Wipe data directories first.
    pub fresh: bool,
    /// Tear everything down and delete `root` when this process exits, even by SIGKILL
    /// (tests); a developer's stack keeps its data.
    pub reap_on_exit: bool,
    /// Where data and origins live (default: a node and an origin per region).
    pub topology: Topology,
    /// Modelled RTTs on the node → node and edge → origin links (`None`: loopback speed).
    pub wan: Option<WanOptions>,
    /// Extra environment for every origin (e.g. `ROAM_CACHE_S_MAXAGE=0`).
    pub origin_env: Vec<(String, String)>,
    /// A primary and a synchronous standby under pg_auto_failover for these regions (`None`:
    /// a single node per region).
    pub ha: Option<HaOptions>,
}

impl StackOptions {
    /// Options for a throwaway stack in a temporary folder, on free ports, with a little
    /// sample data: what end-to-end tests want.
    pub fn for_tests(name: &str) -> Self {
        let root = std::env::temp_dir().join(format!("roam-{name}-{}", std::process::id()));
        Self {
            root,
            origin_binary: default_origin_binary(),
            secret: roam_shared::signature::DEV_SECRET.to_string(),
            pg_ports: None,
            origin_ports: None,
            origins_per_region: 1,
            seed: Some((10, 3)),
            fresh: true,
            reap_on_exit: true,
            topology: Topology::MultiRegion,
            wan: None,
            // Load and fault tests add many vehicles as one user; the limit on that has its
            // own tests.
            origin_env: vec![("ROAM_VEHICLES_PER_HOUR".into(), "100000".into())],
            ha: None,
        }
    }
}

/// The debug build of `roam-origin` in this workspace's target folder (or `ROAM_ORIGIN_BIN`).
pub fn default_origin_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("ROAM_ORIGIN_BIN") {
        return PathBuf::from(path);
    }
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    target.join("debug").join("roam-origin")
}
