//! Background work on a queue that lives in the database: no broker to run.
//!
//! A job is a row of `jobs`, partitioned by city like the rows it acts on, and inserted in the
//! same transaction as the write that calls for it (so it exists exactly when that write
//! committed, on the write's home node, whichever origin took the write). Each origin runs
//! [`Workers`] that claim due jobs from their node's *local* partition with `FOR UPDATE SKIP
//! LOCKED` and run each in the claiming transaction: the effect, and the job's deletion, commit
//! together or not at all. A crash mid-job rolls both back and the job is claimed again; the
//! handlers are idempotent as well, so running one twice changes nothing. A failed attempt is
//! rolled back to a savepoint and the job rescheduled with capped exponential backoff
//! (`run_after`), and set aside (`status = 'dead'`, with its last error) after
//! `ROAM_JOBS_MAX_ATTEMPTS` failures or at once when it can never succeed (a payload that
//! does not parse, an unknown kind).

mod config;
pub mod fare;
pub mod revocation;
pub mod ride_ended;
pub mod ride_timeout;
pub mod rider_region;
mod run;
mod worker;

pub use config::{JobArgs, JobConfig};
pub use run::run_one;
pub use worker::{Outcome, Workers};

use std::fmt;

use sqlx::PgConnection;
use uuid::Uuid;

/// Why a job failed.
#[derive(Debug)]
pub enum JobError {
    /// Worth another attempt later (the database, a row not there yet).
    Retry(String),
    /// Can never succeed: set aside at once.
    Permanent(String),
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Retry(e) | Self::Permanent(e) => f.write_str(e),
        }
    }
}

impl From<sqlx::Error> for JobError {
    fn from(e: sqlx::Error) -> Self {
        Self::Retry(format!("database: {e}"))
    }
}

/// Enqueues a job of `kind` for `city` inside the transaction of the write that calls for it:
/// it lands on that city's node and commits or rolls back with the write.
pub async fn enqueue(
    conn: &mut PgConnection,
    city: &str,
    kind: &str,
    payload: serde_json::Value,
) -> sqlx::Result<()> {
    enqueue_after(conn, city, kind, payload, std::time::Duration::ZERO).await
}

/// Like [`enqueue`], for a job that must not run before `delay` has passed. The job keeps the
/// trace context it was enqueued in, and its run continues that trace.
pub async fn enqueue_after(
    conn: &mut PgConnection,
    city: &str,
    kind: &str,
    payload: serde_json::Value,
    delay: std::time::Duration,
) -> sqlx::Result<()> {
    let traceparent = crate::telemetry::context::current().map(|t| t.to_header());
    sqlx::query!(
        "INSERT INTO here.jobs (city, id, kind, payload, run_after, traceparent) \
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5), $6)",
        city,
        Uuid::new_v4(),
        kind,
        payload,
        delay.as_secs_f64(),
        traceparent
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Metric names (the `region` and `kind` labels tell origins and jobs apart).
pub mod metric {
    /// Counter of finished attempts by `outcome`: `success`, `retry` (failed, rescheduled),
    /// `dead` (failed, set aside).
    pub const RUNS: &str = "roam_jobs_total";
    /// Histogram: from enqueue (the write that called for the job) to its successful commit.
    pub const LATENCY: &str = "roam_jobs_latency_duration_seconds";
    /// Histogram: one attempt, claim to commit.
    pub const RUN: &str = "roam_jobs_run_duration_seconds";
    /// Gauge of this node's jobs by `status` (`pending`, `dead`).
    pub const DEPTH: &str = "roam_jobs_queue_depth";
    /// Gauge: age of the oldest pending job on this node, seconds (0 when none).
    pub const OLDEST: &str = "roam_jobs_oldest_pending_seconds";
}
