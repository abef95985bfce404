//! The retrying transaction every write runs in.

use std::time::Duration;

use futures::future::BoxFuture;
use rand::Rng;
use sqlx::{PgConnection, PgPool};

use crate::error::{is_retryable, Error, Result};

/// Most attempts of one transaction before giving up with a 503.
pub const MAX_ATTEMPTS: u32 = 12;
/// First backoff, doubled on every retry.
const BASE_BACKOFF: Duration = Duration::from_millis(5);
/// Largest backoff.
const MAX_BACKOFF: Duration = Duration::from_millis(500);

/// The backoff before retry number `attempt` (1-based): capped exponential with full jitter.
pub fn backoff(attempt: u32) -> Duration {
    let exp = BASE_BACKOFF.saturating_mul(1u32 << attempt.min(16));
    let cap = exp.min(MAX_BACKOFF);
    let millis = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX).max(1);
    Duration::from_millis(rand::thread_rng().gen_range(millis / 2..=millis))
}

/// Runs `body` in a transaction, committing when it returns `Ok` and rolling back on `Err`.
/// Serialization failures and deadlocks (SQLSTATE 40001/40P01), whether raised by this node
/// or by a peer through postgres_fdw, are retried with capped, jittered backoff: the pattern
/// of CockroachDB's `run_transaction`, so the same code runs there. Each attempt is traced as
/// work on the pool's node (`traced::on`).
pub async fn transaction<T, F>(pool: &PgPool, mut body: F) -> Result<T>
where
    F: for<'c> FnMut(&'c mut PgConnection) -> BoxFuture<'c, Result<T>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        let outcome = super::traced::on(pool, async {
            let mut tx = pool.begin().await?;
            let value = body(&mut tx).await?;
            tx.commit().await?;
            Ok(value)
        })
        .await;
        match outcome {
            Err(Error::Database(e)) if is_retryable(&e) && attempt < MAX_ATTEMPTS => {
                metrics::counter!("roam_db_transaction_retries_total").increment(1);
                tracing::debug!(attempt, error = %e, "retrying transaction");
                tokio::time::sleep(backoff(attempt)).await;
            }
            Err(Error::Database(e)) if is_retryable(&e) => {
                metrics::counter!("roam_db_transaction_retries_exhausted_total").increment(1);
                return Err(Error::Database(e));
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_capped_and_jittered() {
        for attempt in 1..40 {
            let b = backoff(attempt);
            assert!(
                b <= MAX_BACKOFF && b >= Duration::from_millis(1),
                "{attempt}: {b:?}"
            );
        }
        assert!(backoff(1) <= Duration::from_millis(10));
    }
}
