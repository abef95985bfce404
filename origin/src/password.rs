//! Argon2id password hashes, computed off the async threads (they take tens of milliseconds
//! by design) and bounded: each hash works in `memory_kib` of memory, so at most `concurrency`
//! run at once (sized from the cores: more would not finish sooner), each in a workspace that
//! is allocated once and reused. A request that cannot get its turn within `wait` is answered
//! 503 with `retry-after`; a flood of log-ins thus queues briefly and is refused, instead of
//! growing the origin's memory until it is killed.
//!
//! Why reused workspaces: argon2's own `hash_password` allocates its memory per call, on
//! whichever blocking thread runs it, and the C allocator keeps freed memory in per-thread
//! arenas. Under a flood of log-ins that was ~580 MiB of resident memory with only two hashes
//! at a time; with the workspaces it is their size and no more.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::password_hash::{Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{Error, Result};

/// Hashes and verifies passwords, a bounded number at a time.
#[derive(Clone, Debug)]
pub struct Hasher {
    memory_kib: u32,
    workspaces: Arc<Workspaces>,
    wait: Duration,
}

/// The hashes' memory: one workspace per turn, made on first use and kept.
#[derive(Debug)]
struct Workspaces {
    turns: Arc<Semaphore>,
    free: Mutex<Vec<Vec<Block>>>,
}

/// A turn at hashing, with its workspace; both go back when it is dropped.
struct Turn {
    workspaces: Arc<Workspaces>,
    memory: Vec<Block>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Turn {
    fn drop(&mut self) {
        let memory = std::mem::take(&mut self.memory);
        if let Ok(mut free) = self.workspaces.free.lock() {
            free.push(memory);
        }
    }
}

impl Hasher {
    /// At most `concurrency` hashes at once, each of `memory_kib`; a caller waits at most `wait`.
    pub fn new(memory_kib: u32, concurrency: usize, wait: Duration) -> Self {
        Self {
            memory_kib,
            workspaces: Arc::new(Workspaces {
                turns: Arc::new(Semaphore::new(concurrency.max(1))),
                free: Mutex::new(Vec::new()),
            }),
            wait,
        }
    }

    /// One hash at a time, waiting as long as it takes (tools such as `seed`).
    pub fn unbounded_wait(memory_kib: u32) -> Self {
        Self::new(memory_kib, 1, Duration::from_secs(3600))
    }

    /// The PHC string of a fresh salted Argon2id hash.
    pub async fn hash(&self, password: String) -> Result<String> {
        let argon = argon2id(self.memory_kib)?;
        blocking(self.turn().await?, move |memory| {
            let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
            let output = hash_in(&argon, password.as_bytes(), salt.as_salt(), memory)?;
            let phc = PasswordHash {
                algorithm: Algorithm::Argon2id.ident(),
                version: Some(Version::V0x13.into()),
                params: ParamsString::try_from(argon.params()).map_err(internal)?,
                salt: Some(salt.as_salt()),
                hash: Some(output),
            };
            Ok(phc.to_string())
        })
        .await
    }

    /// Whether `password` matches the PHC string (parameters are read from the string). With
    /// no stored hash, a dummy verification still runs, so an unknown email costs as much as a
    /// wrong password.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool> {
        let configured = argon2id(self.memory_kib)?;
        blocking(self.turn().await?, move |memory| {
            let Some(stored) = stored else {
                let salt = Salt::from_b64("cm9hbWR1bW15c2FsdA").map_err(internal)?;
                hash_in(&configured, password.as_bytes(), salt, memory)?;
                return Ok(false);
            };
            let parsed = PasswordHash::new(&stored).map_err(internal)?;
            let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
                return Ok(false);
            };
            let version = parsed.version.map(Version::try_from).transpose();
            let argon = Argon2::new(
                Algorithm::try_from(parsed.algorithm).map_err(internal)?,
                version.map_err(internal)?.unwrap_or_default(),
                Params::try_from(&parsed).map_err(internal)?,
            );
            // `Output`'s equality is constant-time.
            Ok(hash_in(&argon, password.as_bytes(), salt, memory)? == expected)
        })
        .await
    }

    /// A turn and its workspace, or 503 when none comes within `wait`.
    async fn turn(&self) -> Result<Turn> {
        let turn = self.workspaces.turns.clone().acquire_owned();
        let permit = match tokio::time::timeout(self.wait, turn).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) | Err(_) => {
                metrics::counter!("roam_password_hash_refused_total").increment(1);
                return Err(Error::Busy {
                    what: "password hashing",
                    retry_after: 1,
                });
            }
        };
        let kept = self.workspaces.free.lock().ok().and_then(|mut f| f.pop());
        Ok(Turn {
            workspaces: self.workspaces.clone(),
            memory: kept.unwrap_or_default(),
            _permit: permit,
        })
    }
}

/// Runs `work` on the blocking pool with the turn's workspace, holding the turn until it is
/// done (also when the request that asked is dropped meanwhile: the memory is in use until
/// the hash finishes).
async fn blocking<T: Send + 'static>(
    mut turn: Turn,
    work: impl FnOnce(&mut Vec<Block>) -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(move || work(&mut turn.memory))
        .await
        .map_err(|e| Error::Internal(e.into()))?
}

/// `password` hashed by `argon` with `salt` in `memory` (grown to the parameters' size the
/// first time, or for a stored hash made with more memory than configured): what argon2's
/// `hash_password` computes, minus its allocation.
fn hash_in(
    argon: &Argon2<'_>,
    password: &[u8],
    salt: Salt<'_>,
    memory: &mut Vec<Block>,
) -> Result<Output> {
    let params = argon.params();
    if memory.len() < params.block_count() {
        memory.resize(params.block_count(), Block::default());
    }
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes).map_err(internal)?;
    let output_len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    Output::init_with(output_len, |out| {
        argon
            .hash_password_into_with_memory(password, salt_bytes, out, &mut memory[..])
            .map_err(|_| argon2::password_hash::Error::Crypto)
    })
    .map_err(internal)
}

fn argon2id(memory_kib: u32) -> Result<Argon2<'static>> {
    let params = Params::new(memory_kib, 2, 1, None).map_err(internal)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(anyhow::anyhow!("argon2: {e}"))
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
    async fn hashes_agree_with_argon2s_own_both_ways() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let hasher = Hasher::unbounded_wait(256);
        let salt = SaltString::from_b64("c29tZXNhbHRzb21lc2FsdA").unwrap();
        let theirs = argon2id(256)
            .unwrap()
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        assert!(hasher
            .verify("correct horse".into(), Some(theirs))
            .await
            .unwrap());
        let ours = hasher.hash("correct horse".into()).await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(argon2id(256)
            .unwrap()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
        // Made with more memory than this hasher's workspace: still checked right.
        let bigger = argon2id(1024)
            .unwrap()
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        assert!(hasher
            .verify("correct horse".into(), Some(bigger))
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn a_caller_who_cannot_get_a_turn_in_time_is_told_to_retry() {
        let hasher = Hasher::new(256, 1, Duration::from_millis(20));
        let held = hasher.turn().await.unwrap();
        let refused = hasher.hash("x".into()).await.unwrap_err();
        assert_eq!(refused.status(), 503);
        drop(held);
        assert!(hasher.hash("x".into()).await.is_ok(), "the turn came back");
    }
}
