//! `ROAM_PEERS`: every other region's node, which this origin reaches directly.

use std::collections::BTreeMap;

use anyhow::bail;
use roam_shared::RegionMap;
use secrecy::SecretString;

use super::Environment;

/// `REGION=postgres://…`.
pub fn parse_peer(s: &str) -> Result<(String, String), String> {
    let (region, url) = s.split_once('=').ok_or("expected REGION=postgres://…")?;
    Ok((region.trim().to_string(), url.trim().to_string()))
}

/// Reads `ROAM_PEERS` and checks it against the map: known regions other than `own`,
/// postgres URLs, and in production one for every other region (without one, a region is
/// reached through FDW).
pub(super) fn validate_peers(
    peers: &str,
    map: &RegionMap,
    own: &str,
    env: Environment,
) -> anyhow::Result<BTreeMap<String, SecretString>> {
    let mut checked = BTreeMap::new();
    for pair in peers.split_whitespace() {
        let (region, url) = parse_peer(pair).map_err(|e| anyhow::anyhow!("ROAM_PEERS: {e}"))?;
        if region == own || map.region(&region).is_none() {
            bail!("ROAM_PEERS: `{region}` is not another region of the map");
        }
        if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
            bail!("ROAM_PEERS: the URL for `{region}` must be a postgres:// URL");
        }
        if checked
            .insert(region.clone(), SecretString::from(url))
            .is_some()
        {
            bail!("ROAM_PEERS: `{region}` is given twice");
        }
    }
    let missing: Vec<&str> = map
        .regions
        .iter()
        .map(|r| r.name.as_str())
        .filter(|r| *r != own && !checked.contains_key(*r))
        .collect();
    if env == Environment::Production && !missing.is_empty() {
        bail!("ROAM_PEERS has no URL for {}", missing.join(", "));
    }
    Ok(checked)
}
