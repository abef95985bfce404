//! How fast pg_auto_failover fails over, and the split-brain guard that bounds how fast it may.
//!
//! A failover after a crash of the primary takes, one after the other:
//! 1. **detection**: the monitor marks the primary unhealthy once its keeper has not reported
//!    (it reports every second) for `node_considered_unhealthy_timeout` *and* the monitor's own
//!    health checks (`health_check_*`) failed;
//! 2. the standby's keeper steps through `prepare_promotion` and `stop_replication`: promoted,
//!    but still read-only (`default_transaction_read_only`), about a second;
//! 3. **the guard**: the monitor lets the new primary take writes (`wait_primary`) only
//!    `primary_demote_timeout` later, because the old primary may be alive on the far side of a
//!    partition. Such a primary shuts PostgreSQL down once it has heard neither the monitor nor
//!    a standby for `network_partition_timeout` (a keeper setting, whole seconds).
//!
//! Acknowledged writes never split: commits wait for the synchronous standby, which stops
//! streaming from the old primary when it is promoted, so an old primary cut off from the
//! monitor cannot acknowledge anything. What the timeouts guard is the old primary still
//! *answering* (reads) after the new one took a write; [`FailoverSettings::split_brain_margin`]
//! says by how much the old primary is down first. Faster failover means lowering both sides
//! together; RELIABILITY.md and DEPLOY.md discuss the numbers.

use std::time::Duration;

/// A keeper reports to the monitor every second.
const REPORT_PERIOD: Duration = Duration::from_secs(1);
/// The keeper counts the partition in whole seconds: it may act up to a second late.
const WHOLE_SECONDS: Duration = Duration::from_secs(1);
/// A fast shutdown of an idle PostgreSQL, with room for a loaded machine.
const POSTGRES_STOP: Duration = Duration::from_millis(1500);
/// From the monitor's `stop_replication` order to the standby's promotion, which is when the
/// old primary loses its last standby.
const PROMOTION: Duration = Duration::from_millis(1500);

/// How long one turn of a cut-off keeper's loop takes: a second on loopback, where a dead peer
/// refuses connections at once; 1 s + pg_autoctl's 2 s connect timeout where packets are lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeeperLoop {
    /// Every node on one machine (roam-stack).
    Loopback,
    /// Nodes in different zones: a partition drops packets.
    AcrossZones,
}

impl KeeperLoop {
    fn duration(self) -> Duration {
        match self {
            Self::Loopback => Duration::from_secs(1),
            Self::AcrossZones => Duration::from_secs(3),
        }
    }
}

/// The monitor's `pgautofailover.*` settings and the keepers' partition timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailoverSettings {
    /// `pgautofailover.health_check_period`: between two health checks of a node.
    pub health_check_period: Duration,
    /// `pgautofailover.health_check_timeout`: connect timeout of one check.
    pub health_check_timeout: Duration,
    /// `pgautofailover.health_check_max_retries`: failed retries before a node counts as down.
    pub health_check_max_retries: u32,
    /// `pgautofailover.health_check_retry_delay`.
    pub health_check_retry_delay: Duration,
    /// `pgautofailover.node_considered_unhealthy_timeout`: silence of a keeper before its
    /// node may be judged unhealthy.
    pub node_considered_unhealthy_timeout: Duration,
    /// `pgautofailover.primary_demote_timeout`: the guard (module docs).
    pub primary_demote_timeout: Duration,
    /// `pgautofailover.startup_grace_period`: no failover this soon after the monitor starts
    /// (its health checks have not run yet).
    pub startup_grace_period: Duration,
    /// The keepers' `timeout.network_partition_timeout`, in seconds.
    pub network_partition_timeout_secs: u32,
}

impl FailoverSettings {
    /// pg_auto_failover's own defaults (2.0): ~20 s to promote, ~50 s until writes.
    pub fn pg_auto_failover_defaults() -> Self {
        Self {
            health_check_period: Duration::from_secs(5),
            health_check_timeout: Duration::from_secs(5),
            health_check_max_retries: 2,
            health_check_retry_delay: Duration::from_secs(2),
            node_considered_unhealthy_timeout: Duration::from_secs(20),
            primary_demote_timeout: Duration::from_secs(30),
            startup_grace_period: Duration::from_secs(10),
            network_partition_timeout_secs: 20,
        }
    }

    /// roam-stack's: every node on loopback. A dead primary is noticed in ~2 s and the guard
    /// costs 6 s: writes are back ~9 s after a crash.
    pub fn loopback() -> Self {
        Self {
            health_check_period: Duration::from_secs(1),
            health_check_timeout: Duration::from_secs(1),
            health_check_max_retries: 1,
            health_check_retry_delay: Duration::from_millis(500),
            node_considered_unhealthy_timeout: Duration::from_secs(2),
            primary_demote_timeout: Duration::from_secs(6),
            startup_grace_period: Duration::from_secs(3),
            network_partition_timeout_secs: 2,
        }
    }

    /// What DEPLOY.md recommends for a primary and a standby in two zones of a region: writes
    /// back ~21 s after a crash, and the guard holds where a partition drops packets.
    pub fn across_zones() -> Self {
        Self {
            health_check_period: Duration::from_secs(2),
            health_check_timeout: Duration::from_secs(2),
            health_check_max_retries: 2,
            health_check_retry_delay: Duration::from_secs(1),
            node_considered_unhealthy_timeout: Duration::from_secs(6),
            primary_demote_timeout: Duration::from_secs(13),
            startup_grace_period: Duration::from_secs(10),
            network_partition_timeout_secs: 5,
        }
    }

    /// How long before the new primary's first write an old primary cut off by a partition has
    /// surely stopped answering, or `None` if it may still answer then. Two partitions:
    /// `isolated` (the old primary lost the monitor and the standby; pg_auto_failover's own
    /// guard) and `monitor only` (the standby still streams from it until its promotion).
    pub fn split_brain_margin(&self, keeper: KeeperLoop) -> (Option<Duration>, Option<Duration>) {
        let fenced_after_contact = Duration::from_secs(self.network_partition_timeout_secs.into())
            + WHOLE_SECONDS
            + keeper.duration()
            + POSTGRES_STOP;
        // Isolated: the monitor's clock starts at the last report, at most a period before
        // the partition; the new primary writes after detection and the demote timeout.
        let isolated = (self.node_considered_unhealthy_timeout + self.primary_demote_timeout)
            .checked_sub(REPORT_PERIOD + fenced_after_contact);
        // Monitor only: the old primary's clock starts at the promotion, which comes after the
        // demote timeout began.
        let monitor_only = self
            .primary_demote_timeout
            .checked_sub(PROMOTION + fenced_after_contact);
        let positive = |m: Option<Duration>| m.filter(|m| !m.is_zero());
        (positive(isolated), positive(monitor_only))
    }

    /// Lines for the monitor's `postgresql.auto.conf`.
    pub(crate) fn monitor_conf(&self) -> Vec<String> {
        let ms = |d: Duration| d.as_millis().to_string();
        [
            ("health_check_period", ms(self.health_check_period)),
            ("health_check_timeout", ms(self.health_check_timeout)),
            (
                "health_check_max_retries",
                self.health_check_max_retries.to_string(),
            ),
            (
                "health_check_retry_delay",
                ms(self.health_check_retry_delay),
            ),
            (
                "node_considered_unhealthy_timeout",
                ms(self.node_considered_unhealthy_timeout),
            ),
            ("primary_demote_timeout", ms(self.primary_demote_timeout)),
            ("startup_grace_period", ms(self.startup_grace_period)),
        ]
        .into_iter()
        .map(|(name, value)| format!("pgautofailover.{name} = {value}"))
        .collect()
    }

    /// `(option, value)` pairs for each keeper's `pg_autoctl config set`.
    pub(crate) fn keeper_config(&self) -> Vec<(&'static str, String)> {
        vec![(
            "timeout.network_partition_timeout",
            self.network_partition_timeout_secs.to_string(),
        )]
    }
}

impl Default for FailoverSettings {
    fn default() -> Self {
        Self::loopback()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Option<Duration> {
        Some(Duration::from_millis(n))
    }

    #[test]
    fn where_each_preset_keeps_the_guard() {
        let defaults = FailoverSettings::pg_auto_failover_defaults();
        assert_eq!(
            defaults.split_brain_margin(KeeperLoop::AcrossZones),
            (ms(23_500), ms(3_000))
        );
        let zones = FailoverSettings::across_zones();
        assert_eq!(
            zones.split_brain_margin(KeeperLoop::AcrossZones),
            (ms(7_500), ms(1_000))
        );
        // Loopback: an isolated primary is down 1.5 s early; if only the monitor lost it, it
        // may answer reads for up to 1 s after the new primary's first write (never a write:
        // its commits wait for the standby that left). RELIABILITY.md states this trade.
        let local = FailoverSettings::loopback();
        assert_eq!(
            local.split_brain_margin(KeeperLoop::Loopback),
            (ms(1_500), None)
        );
        assert_eq!(local.split_brain_margin(KeeperLoop::AcrossZones).0, None);
    }

    #[test]
    fn the_monitor_gets_milliseconds_and_the_keepers_seconds() {
        let conf = FailoverSettings::loopback().monitor_conf();
        assert!(conf.contains(&"pgautofailover.primary_demote_timeout = 6000".to_string()));
        assert!(conf.contains(&"pgautofailover.health_check_max_retries = 1".to_string()));
        assert_eq!(
            FailoverSettings::loopback().keeper_config(),
            vec![("timeout.network_partition_timeout", "2".to_string())]
        );
    }
}
