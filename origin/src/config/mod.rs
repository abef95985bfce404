//! Configuration: typed, from flags or environment variables, validated once at start. Secrets
//! (the shared secret, database URLs with their passwords, claim keys) never print.

mod args;
mod keys;
mod peers;
mod ranges;

pub use args::{Environment, ServeArgs};
pub use keys::claim_keys;
pub use peers::parse_peer;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{bail, Context};
use roam_shared::email_claim::ClaimKeys;
use roam_shared::{Keyring, RegionMap};
use secrecy::SecretString;

use crate::server::Limits;
use crate::storage::accounts::LockPolicy;
use crate::storage::health::Bounds;
use crate::storage::NodeSettings;

/// The validated configuration the application runs with.
#[derive(Debug, Clone)]
pub struct Config {
    /// This origin's region.
    pub region: String,
    /// Listen address.
    pub listen: SocketAddr,
    /// Admin listen address.
    pub admin_listen: SocketAddr,
    /// What each listener allows its clients.
    pub limits: Limits,
    /// This region's node (its password is a secret).
    pub database_url: SecretString,
    /// The secrets shared with the edge (redacted in Debug): the current one signs tokens, a
    /// previous one is still accepted.
    pub keys: Keyring,
    /// Development or production.
    pub env: Environment,
    /// The region map.
    pub map: RegionMap,
    /// Request timeout.
    pub request_timeout: Duration,
    /// Pool size.
    pub db_max_connections: u32,
    /// Longest wait for a connection.
    pub db_acquire_timeout: Duration,
    /// The `cache-control` value of cacheable GETs.
    pub cache_control: String,
    /// Argon2id memory cost, KiB.
    pub argon2_memory_kib: u32,
    /// When failed log-ins lock an account.
    pub login_lock: LockPolicy,
    /// Failed log-ins are answered no sooner than this.
    pub login_failure_floor: Duration,
    /// What makes this region degraded.
    pub health: Bounds,
    /// The longest ride; past it the ride ends by itself.
    pub max_ride: Duration,
    /// Most vehicles one user may add in a region per hour.
    pub vehicles_per_hour: u32,
    /// Most password hashes at once.
    pub hash_concurrency: usize,
    /// Longest wait for a turn to hash.
    pub hash_wait: Duration,
    /// How long idempotency records are kept.
    pub idempotency_ttl: Duration,
    /// Allowed signature clock skew, seconds.
    pub signature_window_secs: i64,
    /// Other regions' nodes: region → database URL.
    pub peers: BTreeMap<String, SecretString>,
    /// Most connections to each other region's node.
    pub peer_max_connections: u32,
    /// The keys email claims are hashed with.
    pub claim_keys: ClaimKeys,
    /// Background job workers and the prices their fares use.
    pub jobs: crate::jobs::JobConfig,
}

impl Config {
    /// Validates the raw arguments; every message names the variable at fault.
    pub fn from_args(args: ServeArgs) -> anyhow::Result<Self> {
        let map = region_map(&args)?;
        let (listen, admin_listen) = listen_addresses(&args)?;
        check_database_url(&args.database_url)?;
        let keys = keys::shared_keys(&args)?;
        ranges::check_ranges(&args)?;
        let claim_keys = keys::claim_keys(
            args.claim_key.as_deref(),
            args.claim_key_previous.as_deref(),
            args.env,
        )?;
        let peers = peers::validate_peers(&args.peers, &map, &args.region, args.env)?;
        let jobs = crate::jobs::JobConfig::from_args(&args.jobs, &map)?;
        Ok(Self {
            limits: limits(&args),
            cache_control: cache_control(&args),
            login_lock: login_lock(&args),
            health: health_bounds(&args),
            listen,
            admin_listen,
            keys,
            env: args.env,
            map,
            request_timeout: Duration::from_millis(args.request_timeout_ms),
            db_max_connections: args.db_max_connections,
            db_acquire_timeout: Duration::from_millis(args.db_acquire_timeout_ms),
            argon2_memory_kib: args.argon2_memory_kib,
            hash_concurrency: args
                .hash_concurrency
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from)),
            hash_wait: Duration::from_millis(args.hash_wait_ms),
            login_failure_floor: Duration::from_millis(args.login_failure_floor_ms),
            max_ride: Duration::from_secs(args.ride_max_minutes * 60),
            vehicles_per_hour: args.vehicles_per_hour,
            idempotency_ttl: Duration::from_secs(u64::from(args.idempotency_ttl_hours) * 3600),
            signature_window_secs: roam_shared::signature::DEFAULT_WINDOW_SECS,
            peers,
            peer_max_connections: args.peer_max_connections,
            claim_keys,
            jobs,
            region: args.region,
            database_url: SecretString::from(args.database_url),
        })
    }

    /// A development configuration for `region` on `database_url` (tests, the stack).
    pub fn development(region: &str, database_url: &str) -> anyhow::Result<Self> {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            args: ServeArgs,
        }
        let wrapper = Wrapper::try_parse_from([
            "roam-origin",
            "--region",
            region,
            "--database-url",
            database_url,
            "--env",
            "development",
        ])?;
        Self::from_args(wrapper.args)
    }
}

/// The built-in map or ROAM_REGION_MAP's, which must have ROAM_REGION.
fn region_map(args: &ServeArgs) -> anyhow::Result<RegionMap> {
    let map = match &args.region_map {
        None => RegionMap::builtin().clone(),
        Some(path) => load_map(path)?,
    };
    if map.region(&args.region).is_none() {
        let known: Vec<&str> = map.regions.iter().map(|r| r.name.as_str()).collect();
        bail!(
            "ROAM_REGION `{}` is not in the region map (known: {})",
            args.region,
            known.join(", ")
        );
    }
    Ok(map)
}

/// ROAM_LISTEN and ROAM_ADMIN_LISTEN.
fn listen_addresses(args: &ServeArgs) -> anyhow::Result<(SocketAddr, SocketAddr)> {
    let listen: SocketAddr = args.listen.parse().with_context(|| {
        format!(
            "ROAM_LISTEN `{}` is not an address like 127.0.0.1:8080",
            args.listen
        )
    })?;
    let admin_listen: SocketAddr = args.admin_listen.parse().with_context(|| {
        format!(
            "ROAM_ADMIN_LISTEN `{}` is not an address like 127.0.0.1:9090",
            args.admin_listen
        )
    })?;
    Ok((listen, admin_listen))
}

fn check_database_url(url: &str) -> anyhow::Result<()> {
    if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
        bail!("DATABASE_URL must be a postgres:// URL");
    }
    Ok(())
}

fn limits(args: &ServeArgs) -> Limits {
    Limits {
        header_read_timeout: Duration::from_millis(args.header_read_timeout_ms),
        max_connections: args.max_connections,
    }
}

fn cache_control(args: &ServeArgs) -> String {
    format!(
        "public, s-maxage={}, stale-while-revalidate={}, stale-if-error={}",
        args.cache_s_maxage, args.cache_stale_while_revalidate, args.cache_stale_if_error
    )
}

fn login_lock(args: &ServeArgs) -> LockPolicy {
    LockPolicy {
        free_failures: args.login_free_failures,
        first_lock: Duration::from_secs(args.login_first_lock_secs),
        longest_lock: Duration::from_secs(args.login_longest_lock_secs),
    }
}

fn health_bounds(args: &ServeArgs) -> Bounds {
    Bounds {
        standby_lag: Duration::from_secs(args.max_standby_lag_secs),
        job_wait: Duration::from_secs(args.max_job_wait_secs),
    }
}

impl<'a> From<&'a Config> for NodeSettings<'a> {
    fn from(config: &'a Config) -> Self {
        NodeSettings {
            region: &config.region,
            database_url: &config.database_url,
            max_connections: config.db_max_connections,
            peers: &config.peers,
            peer_max_connections: config.peer_max_connections,
            map: &config.map,
        }
    }
}

/// Loads and validates a region map file.
pub fn load_map(path: &std::path::Path) -> anyhow::Result<RegionMap> {
    let json = std::fs::read_to_string(path)
        .with_context(|| format!("ROAM_REGION_MAP: cannot read {}", path.display()))?;
    RegionMap::from_json(&json)
        .with_context(|| format!("ROAM_REGION_MAP: {} is invalid", path.display()))
}

#[cfg(test)]
mod tests;
