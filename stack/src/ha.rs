//! High availability per region: a primary and a synchronous standby under pg_auto_failover
//! (Debian's `pg-auto-failover-cli` and `postgresql-15-auto-failover`), one monitor per region
//! as in production, everything on loopback.
//!
//! Each region's group ([`HaGroup`]) has a monitor and two data nodes, each run by its own
//! `pg_autoctl`. The monitor decides: when the primary dies, the standby is promoted and takes
//! writes once the split-brain guard has passed ([`FailoverSettings`]); the old primary, started
//! again, rejoins as the standby. With one standby pg_auto_failover's `number_sync_standbys` is
//! 0: commits wait for the standby (`synchronous_standby_names = 'ANY 1 (…)'`,
//! `synchronous_commit = on`) while the monitor finds it healthy; once it finds it dead, the
//! primary goes `wait_primary` and commits alone (RELIABILITY.md).

mod autoctl;
mod conf;
mod faults;
mod group;
mod launch;
pub mod monitor;
pub mod probe;
mod settings;

use std::path::Path;

use anyhow::Result;

pub use autoctl::{is_installed, PACKAGES};
pub use group::{GroupOptions, HaGroup, HaNode};
pub use monitor::NodeState;
pub use settings::{FailoverSettings, KeeperLoop};

/// Which regions run a group, and how fast they fail over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HaOptions {
    /// The regions with a primary and a standby (`None`: every region of the topology).
    pub regions: Option<Vec<String>>,
    /// The monitor's and keepers' timing.
    pub failover: FailoverSettings,
}

impl HaOptions {
    /// Every region.
    pub fn every_region() -> Self {
        Self::default()
    }

    /// These regions only (the others keep a single node).
    pub fn regions(regions: &[&str]) -> Self {
        Self {
            regions: Some(regions.iter().map(|r| r.to_string()).collect()),
            ..Self::default()
        }
    }

    /// Whether `region` runs a group.
    pub fn covers(&self, region: &str) -> bool {
        self.regions
            .as_ref()
            .is_none_or(|regions| regions.iter().any(|r| r == region))
    }
}

/// The groups of a stack, one per HA region.
#[derive(Debug, Default)]
pub struct HaCluster {
    /// In map order.
    pub groups: Vec<HaGroup>,
}

impl HaCluster {
    /// Starts a group per `(region, [monitor, a, b] ports)` under `root/<region>`, side by side.
    pub async fn start(
        root: &Path,
        regions: Vec<(String, [u16; 3])>,
        failover: FailoverSettings,
        reap_on_exit: bool,
    ) -> Result<HaCluster> {
        let starts = regions.into_iter().map(|(region, ports)| {
            Box::pin(HaGroup::start(GroupOptions {
                root: root.join(&region),
                region,
                ports,
                failover,
                reap_on_exit,
            }))
        });
        // A failed start drops the other groups, which stops them.
        let groups = futures::future::try_join_all(starts).await?;
        Ok(HaCluster { groups })
    }

    /// The group of a region.
    pub fn group(&self, region: &str) -> Option<&HaGroup> {
        self.groups.iter().find(|g| g.region() == region)
    }

    /// The group of a region, to kill or restart its nodes.
    pub fn group_mut(&mut self, region: &str) -> Option<&mut HaGroup> {
        self.groups.iter_mut().find(|g| g.region() == region)
    }

    /// Stops every group.
    pub fn stop(&mut self) {
        self.groups.iter_mut().for_each(HaGroup::stop);
    }
}

/// The libpq URL of database `database` on whichever of the nodes on `ports` (127.0.0.1)
/// takes writes: `postgres://postgres@127.0.0.1:p1,127.0.0.1:p2/db?target_session_attrs=read-write`.
pub fn multi_host_url(ports: &[u16], database: &str) -> String {
    let hosts: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    format!(
        "postgres://postgres@{}/{database}?target_session_attrs=read-write",
        hosts.join(",")
    )
}
