//! The workers: claim a due job from this node's local partition (`FOR UPDATE SKIP LOCKED`, so
//! workers of every origin of the region share the queue without a broker), run it in the
//! claiming transaction, and record the outcome in that same transaction. An idle worker waits
//! for the poll interval or for the node's `roam_jobs` notification (migration 0011), whichever
//! comes first.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use roam_shared::RegionMap;
use sqlx::postgres::PgListener;
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;

use super::{metric, revocation, ride_ended, ride_timeout, rider_region, JobConfig};
use crate::schema::names::local_table;
use crate::storage::Nodes;

/// Longest wait before a retry, whatever the attempt.
const MAX_BACKOFF: Duration = Duration::from_secs(600);
/// How often the queue depth gauges are refreshed.
const DEPTH_EVERY: Duration = Duration::from_secs(2);
/// How long [`Workers::stop`] waits for the jobs in hand.
const STOP_GRACE: Duration = Duration::from_secs(30);
/// The channel the `jobs_enqueued` trigger notifies on commit.
const CHANNEL: &str = "roam_jobs";

/// What one claimed job came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Ran; its effect and its deletion committed.
    Succeeded,
    /// Failed; retried after a backoff.
    Retried(String),
    /// Failed; set aside.
    Dead(String),
}

/// Everything a worker needs, shared by the region's workers in this origin.
struct Queue {
    /// This region's node (`local()`), and the others' for jobs that write there.
    nodes: Nodes,
    region: String,
    /// This node's own partition of `jobs`: workers never claim through postgres_fdw.
    table: String,
    map: RegionMap,
    config: JobConfig,
    /// Rung when the node announces a new job.
    wake: Notify,
}

/// The running workers of one origin.
pub struct Workers {
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Workers {
    /// Starts `config.workers` workers over `region`'s node, and the depth gauges. Dropping the
    /// result aborts them (as a crash would: a job in hand rolls back and runs again later).
    pub fn start(nodes: Nodes, region: &str, map: RegionMap, config: JobConfig) -> Self {
        let kinds = [
            ride_ended::KIND,
            ride_timeout::KIND,
            rider_region::KIND,
            revocation::KIND,
        ];
        for kind in kinds {
            for outcome in ["success", "retry", "dead"] {
                metrics::counter!(metric::RUNS, "region" => region.to_string(),
                    "kind" => kind, "outcome" => outcome)
                .increment(0);
            }
        }
        let queue = Arc::new(Queue {
            nodes,
            region: region.to_string(),
            table: local_table("jobs", region),
            map,
            config,
            wake: Notify::new(),
        });
        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        for _ in 0..queue.config.workers {
            tasks.spawn(work(queue.clone(), stopped.clone()));
        }
        if queue.config.workers > 0 {
            tasks.spawn(listen(queue.clone(), stopped.clone()));
        }
        tasks.spawn(report_depth(queue, stopped));
        Self { stop, tasks }
    }

    /// Stops taking jobs; waits for the jobs in hand to finish (up to 30 s, then aborts them,
    /// which rolls them back).
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        let drained = tokio::time::timeout(STOP_GRACE, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!("job workers did not stop in time; aborting the jobs in hand");
        }
    }
}

async fn work(queue: Arc<Queue>, mut stopped: watch::Receiver<bool>) {
    // Logged when it starts and when it ends, not at every poll of an outage.
    let mut failing = false;
    loop {
        if *stopped.borrow() {
            return;
        }
        let result = claim_and_run(&queue).await;
        match (&result, failing) {
            (Ok(_), true) => tracing::info!("job worker reaches its node again"),
            (Err(e), false) => tracing::warn!(error = %e, "job worker cannot reach its node"),
            (Err(e), true) => tracing::debug!(error = %e, "job worker still cannot reach its node"),
            (Ok(_), false) => {}
        }
        failing = result.is_err();
        // Ran one: there may be more due, look again at once.
        if let Ok(Some(_)) = result {
            continue;
        }
        // Jittered, so the workers of a region do not poll in lockstep.
        let poll = queue.config.poll_interval;
        let pause = poll.mul_f64(rand::thread_rng().gen_range(0.5..1.5));
        tokio::select! {
            changed = stopped.changed() => if changed.is_err() { return },
            () = tokio::time::sleep(pause) => {}
            () = queue.wake.notified() => {}
        }
    }
}

/// Listens for the node's `roam_jobs` notifications and wakes one idle worker per
/// notification; reconnects when the connection drops (polling covers the gap).
async fn listen(queue: Arc<Queue>, mut stopped: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            changed = stopped.changed() => if changed.is_err() || *stopped.borrow() { return },
            Err(e) = listen_until_error(&queue) => {
                tracing::debug!(error = %e, "job listener lost its node; polling meanwhile");
            }
        }
        tokio::select! {
            changed = stopped.changed() => if changed.is_err() || *stopped.borrow() { return },
            () = tokio::time::sleep(queue.config.poll_interval) => {}
        }
    }
}

async fn listen_until_error(queue: &Queue) -> sqlx::Result<std::convert::Infallible> {
    let node = queue.nodes.local_node();
    let generation = node.generation();
    let mut listener = PgListener::connect_with(node.get()).await?;
    listener.listen(CHANNEL).await?;
    // NOTIFY is not replicated: after a failover the old primary, alive as a standby, would
    // keep this connection open and silent. Move when the node's primary moves.
    let mut moved = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            received = listener.try_recv() => {
                // `None`: the connection dropped; the next call reconnects.
                if received?.is_some() {
                    queue.wake.notify_one();
                }
            }
            _ = moved.tick() => {
                if node.generation() != generation {
                    return Err(sqlx::Error::Protocol("the node's primary moved".into()));
                }
            }
        }
    }
}

/// Claims one due job of this node and runs it to an outcome; `None` when nothing is due.
async fn claim_and_run(queue: &Queue) -> sqlx::Result<Option<Outcome>> {
    super::run_one(&queue.nodes, &queue.map, &queue.config).await
}

/// The wait before retry after `attempts` failures: `base` doubled per failure, capped, with
/// jitter (half to all of it) so jobs that failed together do not retry together.
pub(super) fn backoff(base: Duration, attempts: u32) -> Duration {
    let exp = base.saturating_mul(1u32 << attempts.saturating_sub(1).min(20));
    let cap = exp.min(MAX_BACKOFF.max(base));
    cap.mul_f64(rand::thread_rng().gen_range(0.5..=1.0))
}

/// Refreshes the depth gauges of this node's queue until stopped.
async fn report_depth(queue: Arc<Queue>, mut stopped: watch::Receiver<bool>) {
    let sql = format!(
        "SELECT count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'dead'), \
         COALESCE(EXTRACT(EPOCH FROM now() - min(created_at) FILTER (WHERE status = 'pending'))::float8, 0) \
         FROM ONLY \"{}\"",
        queue.table
    );
    loop {
        match sqlx::query_as::<_, (i64, i64, f64)>(&sql)
            .fetch_one(queue.nodes.local())
            .await
        {
            Ok((pending, dead, oldest)) => {
                let region = queue.region.clone();
                metrics::gauge!(metric::DEPTH, "region" => region.clone(), "status" => "pending")
                    .set(pending as f64);
                metrics::gauge!(metric::DEPTH, "region" => region.clone(), "status" => "dead")
                    .set(dead as f64);
                metrics::gauge!(metric::OLDEST, "region" => region).set(oldest);
            }
            Err(e) => tracing::debug!(error = %e, "could not count jobs"),
        }
        tokio::select! {
            changed = stopped.changed() => if changed.is_err() || *stopped.borrow() { return },
            () = tokio::time::sleep(DEPTH_EVERY) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_is_capped_and_jittered() {
        let base = Duration::from_secs(1);
        let b1 = backoff(base, 1);
        assert!(b1 >= Duration::from_millis(500) && b1 <= base, "{b1:?}");
        let b4 = backoff(base, 4);
        assert!(
            b4 >= Duration::from_secs(4) && b4 <= Duration::from_secs(8),
            "{b4:?}"
        );
        for attempts in 1..200 {
            assert!(backoff(base, attempts) <= MAX_BACKOFF);
        }
    }
}
