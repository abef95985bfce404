//! Argon2id password hashes, computed off the async threads (they take tens of milliseconds
//! by design) and bounded: each hash holds `memory_kib` of memory, so at most `concurrency`
//! run at once (sized from the cores: more would not finish sooner). A request that cannot get
//! its turn within `wait` is answered 503 with `retry-after`; a flood of log-ins thus queues
//! briefly and is refused, instead of growing the origin's memory until it is killed.

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{Error, Result};

/// Hashes and verifies passwords, a bounded number at a time.
#[derive(Clone, Debug)]
pub struct Hasher {
    memory_kib: u32,
    permits: Arc<Semaphore>,
    wait: Duration,
}

impl Hasher {
    /// At most `concurrency` hashes at once, each of `memory_kib`; a caller waits at most `wait`.
    pub fn new(memory_kib: u32, concurrency: usize, wait: Duration) -> Self {
        Self {
            memory_kib,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            wait,
        }
    }

    /// One hash at a time, waiting as long as it takes (tools such as `seed`).
    pub fn unbounded_wait(memory_kib: u32) -> Self {
        Self::new(memory_kib, 1, Duration::from_secs(3600))
    }

    /// The PHC string of a fresh salted Argon2id hash.
    pub async fn hash(&self, password: String) -> Result<String> {
        let permit = self.permit().await?;
        let memory_kib = self.memory_kib;
        blocking(permit, move || {
            let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
            hasher(memory_kib)?
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| Error::Internal(anyhow::anyhow!("argon2 hash: {e}")))
        })
        .await
    }

    /// Whether `password` matches the PHC string (parameters are read from the string). With
    /// no stored hash, a dummy verification still runs, so an unknown email costs as much as a
    /// wrong password.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool> {
        let permit = self.permit().await?;
        let memory_kib = self.memory_kib;
        blocking(permit, move || {
            let argon = hasher(memory_kib)?;
            let Some(stored) = stored else {
                let salt = SaltString::from_b64("cm9hbWR1bW15c2FsdA")
                    .map_err(|e| Error::Internal(anyhow::anyhow!("{e}")))?;
                let _ = argon.hash_password(password.as_bytes(), &salt);
                return Ok(false);
            };
            let parsed = PasswordHash::new(&stored)
                .map_err(|e| Error::Internal(anyhow::anyhow!("stored hash: {e}")))?;
            Ok(argon.verify_password(password.as_bytes(), &parsed).is_ok())
        })
        .await
    }

    /// A turn, or 503 when none comes within `wait`.
    async fn permit(&self) -> Result<OwnedSemaphorePermit> {
        let turn = self.permits.clone().acquire_owned();
        match tokio::time::timeout(self.wait, turn).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) | Err(_) => {
                metrics::counter!("roam_password_hash_refused_total").increment(1);
                Err(Error::Busy {
                    what: "password hashing",
                    retry_after: 1,
                })
            }
        }
    }
}

/// Runs `work` on the blocking pool, holding `permit` until it is done (also when the request
/// that asked is dropped meanwhile: the memory stays in use until the hash finishes).
async fn blocking<T: Send + 'static>(
    permit: OwnedSemaphorePermit,
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(move || {
        let result = work();
        drop(permit);
        result
    })
    .await
    .map_err(|e| Error::Internal(e.into()))?
}

fn hasher(memory_kib: u32) -> Result<Argon2<'static>> {
    let params = Params::new(memory_kib, 2, 1, None)
        .map_err(|e| Error::Internal(anyhow::anyhow!("argon2 params: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_differ() {
        let hasher = Hasher::unbounded_wait(256);
        let a = hasher.hash("correct horse".into()).await.unwrap();
        let b = hasher.hash("correct horse".into()).await.unwrap();
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("$argon2id$"));
        assert!(hasher
            .verify("correct horse".into(), Some(a.clone()))
            .await
            .unwrap());
        assert!(!hasher.verify("wrong horse".into(), Some(a)).await.unwrap());
        assert!(!hasher.verify("x".into(), None).await.unwrap());
    }

    #[tokio::test]
    async fn a_caller_who_cannot_get_a_turn_in_time_is_told_to_retry() {
        let hasher = Hasher::new(256, 1, Duration::from_millis(20));
        let held = hasher.permits.clone().acquire_owned().await.unwrap();
        let refused = hasher.hash("x".into()).await.unwrap_err();
        assert_eq!(refused.status(), 503);
        drop(held);
        assert!(hasher.hash("x".into()).await.is_ok(), "the turn came back");
    }
}
