//! Argon2id password hashes, computed off the async threads (they take tens of milliseconds
//! by design).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::{Error, Result};

fn hasher(memory_kib: u32) -> Result<Argon2<'static>> {
    let params = Params::new(memory_kib, 2, 1, None)
        .map_err(|e| Error::Internal(anyhow::anyhow!("argon2 params: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// The PHC string of a fresh salted Argon2id hash.
pub async fn hash(password: String, memory_kib: u32) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        hasher(memory_kib)?
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(anyhow::anyhow!("argon2 hash: {e}")))
    })
    .await
    .map_err(|e| Error::Internal(e.into()))?
}

/// Whether `password` matches the PHC string (parameters are read from the string). With no
/// stored hash, a dummy verification still runs, so an unknown email takes as long as a wrong
/// password.
pub async fn verify(password: String, stored: Option<String>, memory_kib: u32) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
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
    .map_err(|e| Error::Internal(e.into()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_differ() {
        let a = hash("correct horse".into(), 256).await.unwrap();
        let b = hash("correct horse".into(), 256).await.unwrap();
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("$argon2id$"));
        assert!(verify("correct horse".into(), Some(a.clone()), 256)
            .await
            .unwrap());
        assert!(!verify("wrong horse".into(), Some(a), 256).await.unwrap());
        assert!(!verify("x".into(), None, 256).await.unwrap());
    }
}
