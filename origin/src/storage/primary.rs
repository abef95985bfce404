//! "The region's primary, whichever node it is now": a pool per host of a libpq multi-host
//! URL (`postgres://u@h1:p1,h2:p2/db?target_session_attrs=read-write`, which sqlx cannot
//! parse), and a watcher that asks every host every [`PROBE_EVERY`] whether it takes writes
//! (what libpq's `target_session_attrs=read-write` asks) and points the node at the one that
//! does. A failover under pg_auto_failover promotes the standby and demotes the old primary;
//! requests then follow within one probe. While no host takes writes (the seconds of the
//! failover) the node stays pointed at the last primary and requests fail as for a node that
//! is down: 503 + `retry-after`, nothing acknowledged.
//!
//! Each host keeps its own pool, so switching back and forth costs no reconnect storm; the
//! [`NodePool::generation`] counter lets long-lived connections (the job workers' LISTEN)
//! notice a switch and move.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;

/// How often a multi-host node's hosts are asked which takes writes.
pub const PROBE_EVERY: Duration = Duration::from_millis(500);
/// How long one host may take to answer.
const PROBE_TIMEOUT: Duration = Duration::from_millis(800);

/// One region's node as the origin reaches it: one host, or the hosts of a group under
/// pg_auto_failover with the one that takes writes now.
#[derive(Debug, Clone)]
pub struct NodePool {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// `host:port` of each host, for humans (readiness, logs).
    hosts: Vec<String>,
    pools: Vec<PgPool>,
    /// Index of the host that took writes at the last probe.
    current: AtomicUsize,
    /// Bumped at every switch.
    generation: AtomicU64,
}

impl NodePool {
    /// A node of one host or several (`hosts` and `pools` in the same order, not empty).
    pub fn new(hosts: Vec<String>, pools: Vec<PgPool>) -> Self {
        Self {
            inner: Arc::new(Inner {
                hosts,
                pools,
                current: AtomicUsize::new(0),
                generation: AtomicU64::new(0),
            }),
        }
    }

    /// The pool of the host that takes writes (as of the last probe).
    pub fn get(&self) -> &PgPool {
        let i = self.inner.current.load(Ordering::Acquire);
        &self.inner.pools[i.min(self.inner.pools.len() - 1)]
    }

    /// `host:port` of the host that takes writes (as of the last probe).
    pub fn primary(&self) -> &str {
        let i = self.inner.current.load(Ordering::Acquire);
        &self.inner.hosts[i.min(self.inner.hosts.len() - 1)]
    }

    /// Every host with its pool.
    pub fn hosts(&self) -> impl Iterator<Item = (&str, &PgPool)> {
        self.inner
            .hosts
            .iter()
            .map(String::as_str)
            .zip(&self.inner.pools)
    }

    /// How many times the node has switched hosts.
    pub fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Acquire)
    }

    /// Whether there is anything to watch (more than one host).
    pub fn is_multi_host(&self) -> bool {
        self.inner.pools.len() > 1
    }

    /// Asks every host whether it takes writes and points at the first that does; returns
    /// whether it switched. With none writable (mid-failover) nothing changes.
    pub async fn probe(&self, region: &str) -> bool {
        let asks = self.inner.pools.iter().map(|pool| async move {
            let ask = sqlx::query_scalar::<_, bool>(
                "SELECT NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off'",
            )
            .fetch_one(pool);
            matches!(tokio::time::timeout(PROBE_TIMEOUT, ask).await, Ok(Ok(true)))
        });
        let writable = futures::future::join_all(asks).await;
        let Some(found) = writable.iter().position(|w| *w) else {
            return false;
        };
        let before = self.inner.current.swap(found, Ordering::AcqRel);
        if before == found {
            return false;
        }
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
        tracing::warn!(
            region,
            from = %self.inner.hosts[before],
            to = %self.inner.hosts[found],
            "the node's primary moved"
        );
        metrics::counter!("roam_db_primary_switches_total", "region" => region.to_string())
            .increment(1);
        true
    }

    /// Probes every [`PROBE_EVERY`] until the process ends (only worth it with several hosts).
    pub async fn watch(self, region: String) {
        let mut ticker = tokio::time::interval(PROBE_EVERY);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            self.probe(&region).await;
        }
    }
}
