//! The health of every region's node as this origin sees it, and of its own region in detail
//! (which host is primary, its standbys' replication lag, the job backlog), checked in the
//! background every [`EVERY`] and read from memory by `/readyz` and the edge's health call:
//! however often those are asked (a flood included), the nodes see one cheap round of checks
//! per period and the request pools none.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::task::JoinHandle;

use crate::error::{is_unavailable, sqlstate};
use crate::schema::names::local_table;
use crate::storage::Nodes;

/// How often the nodes are checked.
pub const EVERY: Duration = Duration::from_secs(1);
/// How long one check may take.
const CHECK_TIMEOUT: Duration = Duration::from_millis(1500);

/// One region's node as this origin sees it.
#[derive(Debug, Clone, Serialize)]
pub struct NodeCheck {
    /// The node's region.
    pub region: String,
    /// Whether it is this origin's own region.
    pub local: bool,
    /// Whether it answered.
    pub ok: bool,
    /// How long it took, ms.
    pub ms: f64,
    /// Why not, without connection strings or query text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One standby of this region's primary, as `pg_stat_replication` shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Standby {
    /// Its `application_name` (pg_auto_failover names it after the node).
    pub name: String,
    /// `streaming`, `catchup`, …
    pub state: String,
    /// `sync`, `quorum`, `async`, …
    pub sync_state: String,
    /// WAL the standby has yet to replay, bytes.
    pub lag_bytes: Option<i64>,
    /// How far behind its replay is, seconds (None: caught up, nothing to replay).
    pub lag_secs: Option<f64>,
}

/// This node's job queue.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Backlog {
    /// Jobs due or waiting to be due.
    pub pending: i64,
    /// Jobs set aside after failing for good.
    pub dead: i64,
    /// How long the oldest due job has waited, seconds.
    pub oldest_due_secs: f64,
}

/// This origin's own region in detail.
#[derive(Debug, Clone, Serialize)]
pub struct RegionHealth {
    /// `ok`, `degraded` (working, but a standby lags or is missing, or jobs wait too long)
    /// or `down` (its node does not answer).
    pub status: &'static str,
    /// Why it is not `ok`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// `host:port` of the node's host that takes writes.
    pub primary: String,
    /// Every host of the node.
    pub hosts: Vec<String>,
    /// The primary's standbys.
    pub standbys: Vec<Standby>,
    /// The job queue.
    pub jobs: Backlog,
}

/// What counts as degraded.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// A standby further behind than this.
    pub standby_lag: Duration,
    /// A due job waiting longer than this.
    pub job_wait: Duration,
}

/// One round of checks.
#[derive(Debug, Clone)]
pub struct Health {
    /// Every region's node, reachable or not.
    pub nodes: Vec<NodeCheck>,
    /// This origin's region in detail.
    pub region: RegionHealth,
}

/// When the checks were taken, and what they found.
type Checked = Option<(Instant, Health)>;

/// The latest checks of every node, shared by the checker and `/readyz`.
#[derive(Clone, Debug, Default)]
pub struct HealthWatch {
    latest: Arc<RwLock<Checked>>,
}

impl HealthWatch {
    /// Starts checking every region's node of `nodes`; the task runs until aborted.
    pub fn start(nodes: Nodes, regions: Vec<String>, bounds: Bounds) -> (Self, JoinHandle<()>) {
        let watch = Self::default();
        let writer = watch.clone();
        let task = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(EVERY);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let checks = regions
                    .iter()
                    .map(|r| check_node(&nodes, r.clone(), r == nodes.own_region()));
                let (checks, region) = tokio::join!(
                    futures::future::join_all(checks),
                    own_region(&nodes, bounds)
                );
                let local_ok = checks.iter().any(|c| c.local && c.ok);
                let health = Health {
                    nodes: checks,
                    region: if local_ok { region } else { down(region) },
                };
                if let Ok(mut latest) = writer.latest.write() {
                    *latest = Some((Instant::now(), health));
                }
            }
        });
        (watch, task)
    }

    /// The latest checks and how old they are (`None` before the first completes).
    pub fn latest(&self) -> Option<(Duration, Health)> {
        let latest = self.latest.read().ok()?;
        latest
            .as_ref()
            .map(|(at, checks)| (at.elapsed(), checks.clone()))
    }
}

/// How one region's node answers this origin now. A node reached directly answers `SELECT 1`;
/// one reached through postgres_fdw is asked for a row of its foreign partition.
async fn check_node(nodes: &Nodes, region: String, local: bool) -> NodeCheck {
    let sql = if nodes.is_direct(&region) {
        "SELECT 1".to_string()
    } else {
        format!(
            "SELECT 1 FROM {} LIMIT 1",
            local_table("email_claims", &region)
        )
    };
    let started = Instant::now();
    let asked = sqlx::query(&sql).fetch_optional(nodes.region(&region));
    let result = tokio::time::timeout(CHECK_TIMEOUT, asked).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let error = match result {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some(short_error(&e)),
        Err(_) => Some("timed out".to_string()),
    };
    NodeCheck {
        region,
        local,
        ok: error.is_none(),
        ms: (ms * 100.0).round() / 100.0,
        error,
    }
}

/// This region in detail: its primary, standbys and job backlog, judged against `bounds`.
async fn own_region(nodes: &Nodes, bounds: Bounds) -> RegionHealth {
    let node = nodes.local_node();
    let pool = node.get();
    let standbys = tokio::time::timeout(CHECK_TIMEOUT, standbys(pool)).await;
    let backlog = tokio::time::timeout(CHECK_TIMEOUT, backlog(pool, nodes.own_region())).await;
    let standbys = match standbys {
        Ok(Ok(standbys)) => standbys,
        _ => Vec::new(),
    };
    let jobs = match backlog {
        Ok(Ok(jobs)) => jobs,
        _ => Backlog::default(),
    };
    let mut reasons = Vec::new();
    if node.is_multi_host() && !standbys.iter().any(|s| s.state == "streaming") {
        reasons.push("no standby is streaming: acknowledged writes are on one node".into());
    }
    for standby in &standbys {
        if standby.lag_secs.unwrap_or(0.0) > bounds.standby_lag.as_secs_f64() {
            reasons.push(format!(
                "standby {} lags {:.1} s",
                standby.name,
                standby.lag_secs.unwrap_or(0.0)
            ));
        }
    }
    if jobs.oldest_due_secs > bounds.job_wait.as_secs_f64() {
        reasons.push(format!(
            "a due job has waited {:.0} s",
            jobs.oldest_due_secs
        ));
    }
    RegionHealth {
        status: if reasons.is_empty() { "ok" } else { "degraded" },
        reasons,
        primary: node.primary().to_string(),
        hosts: node.hosts().map(|(h, _)| h.to_string()).collect(),
        standbys,
        jobs,
    }
}

/// The region as a whole when its node does not answer.
fn down(mut region: RegionHealth) -> RegionHealth {
    region.status = "down";
    region.reasons = vec!["this region's node does not answer".into()];
    region
}

async fn standbys(pool: &sqlx::PgPool) -> sqlx::Result<Vec<Standby>> {
    sqlx::query_as::<_, Standby>(
        "SELECT application_name AS name, state, sync_state, \
                pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint AS lag_bytes, \
                extract(epoch FROM replay_lag)::float8 AS lag_secs \
         FROM pg_stat_replication ORDER BY application_name",
    )
    .fetch_all(pool)
    .await
}

async fn backlog(pool: &sqlx::PgPool, region: &str) -> sqlx::Result<Backlog> {
    let table = local_table("jobs", region);
    let (pending, dead, oldest_due_secs): (i64, i64, f64) = sqlx::query_as(&format!(
        "SELECT count(*) FILTER (WHERE status = 'pending'), \
                count(*) FILTER (WHERE status = 'dead'), \
                COALESCE(extract(epoch FROM now() - min(run_after) \
                  FILTER (WHERE status = 'pending' AND run_after <= now()))::float8, 0) \
         FROM ONLY \"{table}\""
    ))
    .fetch_one(pool)
    .await?;
    Ok(Backlog {
        pending,
        dead,
        oldest_due_secs,
    })
}

/// A database error's kind, without connection strings or query text.
fn short_error(e: &sqlx::Error) -> String {
    match sqlstate(e) {
        Some(code) => format!("database error {code}"),
        None if is_unavailable(e) => "unreachable".to_string(),
        None => "error".to_string(),
    }
}
