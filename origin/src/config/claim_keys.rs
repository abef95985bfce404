//! The keys email claims are hashed with: the current one, and the previous one while a
//! rotation is under way.

use anyhow::bail;
use roam_shared::email_claim::ClaimKey;

use super::Environment;

/// The current claim key, and the previous one during a rotation.
#[derive(Debug, Clone)]
pub struct ClaimKeys {
    /// New claims are made under it (and under `previous`, while set).
    pub current: ClaimKey,
    /// The key being rotated out.
    pub previous: Option<ClaimKey>,
}

impl ClaimKeys {
    /// The development key alone.
    pub fn development() -> Self {
        Self {
            current: ClaimKey::development(),
            previous: None,
        }
    }

    /// Every key in force, current first.
    pub fn all(&self) -> impl Iterator<Item = &ClaimKey> {
        std::iter::once(&self.current).chain(self.previous.as_ref())
    }

    /// Reads `ROAM_CLAIM_KEY` / `ROAM_CLAIM_KEY_PREVIOUS`; the development key when the
    /// first is unset, which `production` refuses.
    pub fn from_args(
        current: Option<&str>,
        previous: Option<&str>,
        env: Environment,
    ) -> anyhow::Result<Self> {
        let parse = |name: &str, value: &str| {
            ClaimKey::parse(value).map_err(|e| anyhow::anyhow!("{name}: {e}"))
        };
        let current = match current {
            Some(value) => parse("ROAM_CLAIM_KEY", value)?,
            None if env == Environment::Production => {
                bail!("ROAM_CLAIM_KEY is required when ROAM_ENV=production")
            }
            None => ClaimKey::development(),
        };
        if env == Environment::Production && current.is_development() {
            bail!("ROAM_CLAIM_KEY is the development key, which ROAM_ENV=production refuses");
        }
        let previous = previous
            .map(|value| parse("ROAM_CLAIM_KEY_PREVIOUS", value))
            .transpose()?;
        if previous.as_ref().is_some_and(|p| p.id() == current.id()) {
            bail!("ROAM_CLAIM_KEY_PREVIOUS must have another id than ROAM_CLAIM_KEY");
        }
        Ok(Self { current, previous })
    }
}
