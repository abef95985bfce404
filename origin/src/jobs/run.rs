//! One job, claimed and run to an outcome: the effect and the job's deletion (or its
//! rescheduling, or setting aside) commit together in the claiming transaction.

use std::time::Instant;

use chrono::{DateTime, Utc};
use roam_shared::RegionMap;
use sqlx::{Acquire, PgConnection};
use tracing::Instrument;
use uuid::Uuid;

use super::worker::backoff;
use super::{
    metric, revocation, ride_ended, ride_timeout, rider_region, JobConfig, JobError, Outcome,
};
use crate::schema::names::local_table;
use crate::storage::Nodes;
use crate::telemetry::context::{self, Incoming};

/// A claimed job.
struct Claimed {
    city: String,
    id: Uuid,
    kind: String,
    payload: serde_json::Value,
    attempts: i32,
    created_at: DateTime<Utc>,
    /// The trace context of the request that enqueued it.
    traceparent: Option<String>,
}

/// The claim's row.
type Row = (
    String,
    Uuid,
    String,
    serde_json::Value,
    i32,
    DateTime<Utc>,
    Option<String>,
);

/// Claims the oldest due job of this region's local partition and runs it: the effect and the
/// job's deletion (or its rescheduling, or setting aside) commit together (a job's writes on
/// other nodes are idempotent, so running one twice changes nothing). `None` when no job is
/// due. Public for tools and tests; the workers call it in a loop.
pub async fn run_one(
    nodes: &Nodes,
    map: &RegionMap,
    config: &JobConfig,
) -> sqlx::Result<Option<Outcome>> {
    let started = Instant::now();
    let table = local_table("jobs", nodes.own_region());
    let mut tx = nodes.local().begin().await?;
    let claimed: Option<Row> = sqlx::query_as(&format!(
        "SELECT city, id, kind, payload, attempts, created_at, traceparent FROM ONLY \"{table}\" \
             WHERE status = 'pending' AND run_after <= now() \
             ORDER BY run_after LIMIT 1 FOR UPDATE SKIP LOCKED"
    ))
    .fetch_optional(&mut *tx)
    .await?;
    let Some((city, id, kind, payload, attempts, created_at, traceparent)) = claimed else {
        return Ok(None);
    };
    let job = Claimed {
        city,
        id,
        kind,
        payload,
        attempts,
        created_at,
        traceparent,
    };
    let span = job_span(&job);
    let trace = context::continue_trace(&span, &Incoming::new(job.traceparent.as_deref()));
    let finished = finish(tx, nodes, map, config, job, &table, started).instrument(span);
    context::scope(trace, finished).await.map(Some)
}

/// The job's span: its kind, city and id, and the trace of the request that enqueued it (so
/// its log lines carry that trace id too).
fn job_span(job: &Claimed) -> tracing::Span {
    tracing::info_span!(
        "job",
        otel.name = format!("job {}", job.kind),
        otel.kind = "consumer",
        trace_id = tracing::field::Empty,
        job.kind = %job.kind,
        job.id = %job.id,
        city = %job.city,
        attempt = job.attempts + 1,
    )
}

/// Runs the claimed job and settles it, in the claiming transaction.
async fn finish(
    mut tx: sqlx::Transaction<'static, sqlx::Postgres>,
    nodes: &Nodes,
    map: &RegionMap,
    config: &JobConfig,
    job: Claimed,
    table: &str,
    started: Instant,
) -> sqlx::Result<Outcome> {
    // The attempt runs in a savepoint: a failure rolls back its effect but not the claim, so
    // the failure is recorded by this same transaction and no other worker runs it meanwhile.
    let mut attempt = tx.begin().await?;
    let result = dispatch(&mut attempt, nodes, map, config, &job).await;
    match &result {
        Ok(()) => attempt.commit().await?,
        Err(_) => attempt.rollback().await?,
    }
    let outcome = settle(&mut tx, table, config, &job, result).await?;
    tx.commit().await?;
    record(nodes.own_region(), &job, &outcome, started);
    Ok(outcome)
}

/// Runs the job's kind.
async fn dispatch(
    attempt: &mut PgConnection,
    nodes: &Nodes,
    map: &RegionMap,
    config: &JobConfig,
    job: &Claimed,
) -> Result<(), JobError> {
    let payload = job.payload.clone();
    match job.kind.as_str() {
        ride_ended::KIND => {
            let conn = attempt.acquire().await?;
            ride_ended::run(conn, nodes, map, &config.prices, &job.city, payload).await
        }
        ride_timeout::KIND => {
            let conn = attempt.acquire().await?;
            ride_timeout::run(conn, map, &job.city, payload).await
        }
        rider_region::KIND => rider_region::run(nodes, map, &job.city, payload).await,
        revocation::KIND => revocation::run(nodes, payload).await,
        other => Err(JobError::Permanent(format!("unknown job kind `{other}`"))),
    }
}

/// Deletes a job that succeeded, or reschedules (or sets aside) one that failed.
async fn settle(
    tx: &mut PgConnection,
    table: &str,
    config: &JobConfig,
    job: &Claimed,
    result: Result<(), JobError>,
) -> sqlx::Result<Outcome> {
    let (city, id, kind) = (&job.city, job.id, &job.kind);
    let e = match result {
        Ok(()) => {
            sqlx::query(&format!(
                "DELETE FROM ONLY \"{table}\" WHERE city = $1 AND id = $2"
            ))
            .bind(city)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            return Ok(Outcome::Succeeded);
        }
        Err(e) => e,
    };
    let attempts = u32::try_from(job.attempts).unwrap_or(0) + 1;
    let dead = matches!(e, JobError::Permanent(_)) || attempts >= config.max_attempts;
    let delay = backoff(config.backoff, attempts);
    sqlx::query(&format!(
        "UPDATE ONLY \"{table}\" SET attempts = attempts + 1, last_error = $3, \
         status = CASE WHEN $4 THEN 'dead' ELSE 'pending' END, \
         run_after = now() + make_interval(secs => $5) \
         WHERE city = $1 AND id = $2"
    ))
    .bind(city)
    .bind(id)
    .bind(e.to_string())
    .bind(dead)
    .bind(delay.as_secs_f64())
    .execute(&mut *tx)
    .await?;
    if dead {
        tracing::error!(job = %id, kind, city, attempts, error = %e, "job set aside");
        Ok(Outcome::Dead(e.to_string()))
    } else {
        tracing::warn!(job = %id, kind, city, attempts, error = %e, retry_in = ?delay, "job failed");
        Ok(Outcome::Retried(e.to_string()))
    }
}

/// The run's metrics: outcome count, run time, and (on success) enqueue → commit latency.
fn record(region: &str, job: &Claimed, outcome: &Outcome, started: Instant) {
    let label = match outcome {
        Outcome::Succeeded => "success",
        Outcome::Retried(_) => "retry",
        Outcome::Dead(_) => "dead",
    };
    let labels = [
        ("region", region.to_string()),
        ("kind", job.kind.clone()),
        ("outcome", label.to_string()),
    ];
    metrics::counter!(metric::RUNS, &labels).increment(1);
    metrics::histogram!(metric::RUN, &labels[..2]).record(started.elapsed().as_secs_f64());
    if *outcome == Outcome::Succeeded {
        let latency = (Utc::now() - job.created_at).to_std().unwrap_or_default();
        metrics::histogram!(metric::LATENCY, &labels[..2]).record(latency.as_secs_f64());
    }
}
