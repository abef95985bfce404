//! The keys in the environment: the secret shared with the edge (`ROAM_SECRET`, and
//! `ROAM_SECRET_ACCEPTED` during a rotation) and the keys email claims are hashed with
//! (`ROAM_CLAIM_KEY`, `ROAM_CLAIM_KEY_PREVIOUS`).

use anyhow::bail;
use roam_shared::email_claim::{ClaimKey, ClaimKeys};
use roam_shared::signature::DEV_SECRET;
use roam_shared::{Keyring, SharedSecret};

use super::{Environment, ServeArgs};

/// ROAM_SECRET (and ROAM_SECRET_ACCEPTED during a rotation) as a ring; the public development
/// secret only under ROAM_ENV=development.
pub(super) fn shared_keys(args: &ServeArgs) -> anyhow::Result<Keyring> {
    let secret = match (&args.secret, args.env) {
        (Some(secret), _) => secret.as_str(),
        (None, Environment::Development) => DEV_SECRET,
        (None, Environment::Production) => bail!(
            "ROAM_SECRET is not set (ROAM_ENV is production; a local stack sets \
             ROAM_ENV=development)"
        ),
    };
    let current = SharedSecret::parse(secret).map_err(|e| anyhow::anyhow!("ROAM_SECRET: {e}"))?;
    let accepted = match args.secret_accepted.as_deref().filter(|s| !s.is_empty()) {
        Some(text) => Some(
            SharedSecret::parse(text).map_err(|e| anyhow::anyhow!("ROAM_SECRET_ACCEPTED: {e}"))?,
        ),
        None => None,
    };
    let public = current.is_dev_default() || accepted.as_ref().is_some_and(|a| a.is_dev_default());
    if args.env == Environment::Production && public {
        bail!(
            "ROAM_SECRET(_ACCEPTED) is the development secret, which ROAM_ENV=production refuses"
        );
    }
    Ok(Keyring::new(current, accepted))
}

/// Reads `ROAM_CLAIM_KEY` / `ROAM_CLAIM_KEY_PREVIOUS`; the development key when the
/// first is unset, which `production` refuses.
pub fn claim_keys(
    current: Option<&str>,
    previous: Option<&str>,
    env: Environment,
) -> anyhow::Result<ClaimKeys> {
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
    Ok(ClaimKeys { current, previous })
}
