//! Configuration: typed, from flags or environment variables, validated once at start. Secrets
//! (the shared secret, database URLs with their passwords, claim keys) never print.

mod claim_keys;
mod peers;

pub use claim_keys::ClaimKeys;
pub use peers::parse_peer;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use roam_shared::{Keyring, RegionMap, SharedSecret};
use secrecy::SecretString;

use crate::server::Limits;
use crate::storage::accounts::LockPolicy;
use crate::storage::health::Bounds;

/// `development` relaxes nothing but the secret check; `production` refuses the dev secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Environment {
    /// Local machine, tests.
    Development,
    /// Real traffic.
    Production,
}

/// Flags and variables of `roam-origin serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// The region this origin serves (a region of the map).
    #[arg(long, env = "ROAM_REGION")]
    pub region: String,
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, env = "ROAM_LISTEN", default_value = "127.0.0.1:0")]
    pub listen: String,
    /// Address of the admin listener: `/readyz` and `/metrics`, for operators and load
    /// balancers on a private network (port 0 picks a free port).
    #[arg(long, env = "ROAM_ADMIN_LISTEN", default_value = "127.0.0.1:0")]
    pub admin_listen: String,
    /// Longest a client may take to send a request's line and headers, in milliseconds.
    #[arg(long, env = "ROAM_HEADER_READ_TIMEOUT_MS", default_value_t = 10_000)]
    pub header_read_timeout_ms: u64,
    /// Most connections open at once on each listener (past it, new ones are closed).
    #[arg(long, env = "ROAM_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,
    /// This region's PostgreSQL node, e.g. postgres://postgres@127.0.0.1:5432/roam.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
    /// The secret shared with the edge (at least 16 bytes); required unless ROAM_ENV is
    /// development (which then uses the public development secret).
    #[arg(long, env = "ROAM_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// During a rotation, the other secret: accepted in signatures, tokens and bookmarks but
    /// never used to sign (first the new one, then the old one). See DEPLOY.md.
    #[arg(long, env = "ROAM_SECRET_ACCEPTED", hide_env_values = true)]
    pub secret_accepted: Option<String>,
    /// production (the default: nothing runs with a public secret by accident) or
    /// development.
    #[arg(long, env = "ROAM_ENV", value_enum, default_value = "production")]
    pub env: Environment,
    /// A regions.json to use instead of the built-in map.
    #[arg(long, env = "ROAM_REGION_MAP")]
    pub region_map: Option<PathBuf>,
    /// Longest a request may take, in milliseconds.
    #[arg(long, env = "ROAM_REQUEST_TIMEOUT_MS", default_value_t = 10_000)]
    pub request_timeout_ms: u64,
    /// Most database connections this origin holds.
    #[arg(long, env = "ROAM_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,
    /// Longest wait for a database connection, in milliseconds (then 503): with the node
    /// down, how long a request waits before it is answered.
    #[arg(long, env = "ROAM_DB_ACQUIRE_TIMEOUT_MS", default_value_t = 1_000)]
    pub db_acquire_timeout_ms: u64,
    /// `s-maxage` of cacheable GETs, seconds.
    #[arg(long, env = "ROAM_CACHE_S_MAXAGE", default_value_t = 5)]
    pub cache_s_maxage: u32,
    /// `stale-while-revalidate` of cacheable GETs, seconds.
    #[arg(long, env = "ROAM_CACHE_SWR", default_value_t = 30)]
    pub cache_stale_while_revalidate: u32,
    /// `stale-if-error` of cacheable GETs, seconds.
    #[arg(long, env = "ROAM_CACHE_SIE", default_value_t = 300)]
    pub cache_stale_if_error: u32,
    /// Argon2id memory cost in KiB (OWASP's minimum is 19456).
    #[arg(long, env = "ROAM_ARGON2_MEMORY_KIB", default_value_t = 19_456)]
    pub argon2_memory_kib: u32,
    /// Most password hashes at once (each holds ROAM_ARGON2_MEMORY_KIB); default: the cores.
    #[arg(long, env = "ROAM_HASH_CONCURRENCY")]
    pub hash_concurrency: Option<usize>,
    /// Longest a log-in or sign-up waits for its turn to hash, in milliseconds (then 503).
    #[arg(long, env = "ROAM_HASH_WAIT_MS", default_value_t = 1_000)]
    pub hash_wait_ms: u64,
    /// Failed log-ins in a row an account may have before it is locked.
    #[arg(long, env = "ROAM_LOGIN_FREE_FAILURES", default_value_t = 5)]
    pub login_free_failures: u32,
    /// The first lock after them, in seconds; each further failure doubles it.
    #[arg(long, env = "ROAM_LOGIN_FIRST_LOCK_SECS", default_value_t = 1)]
    pub login_first_lock_secs: u64,
    /// The longest lock, in seconds.
    #[arg(long, env = "ROAM_LOGIN_LONGEST_LOCK_SECS", default_value_t = 900)]
    pub login_longest_lock_secs: u64,
    /// A failed log-in is answered no sooner than this after it arrived (milliseconds), so its
    /// timing does not tell whether the email has an account, nor where it lives.
    #[arg(long, env = "ROAM_LOGIN_FAILURE_FLOOR_MS", default_value_t = 400)]
    pub login_failure_floor_ms: u64,
    /// A ride still open this many minutes after it started ends by itself.
    #[arg(long, env = "ROAM_RIDE_MAX_MINUTES", default_value_t = 120)]
    pub ride_max_minutes: u64,
    /// Most vehicles one user may add in a region per hour.
    #[arg(long, env = "ROAM_VEHICLES_PER_HOUR", default_value_t = 20)]
    pub vehicles_per_hour: u32,
    /// A standby further behind than this many seconds makes the region degraded.
    #[arg(long, env = "ROAM_MAX_STANDBY_LAG_SECS", default_value_t = 10)]
    pub max_standby_lag_secs: u64,
    /// A due job waiting longer than this many seconds makes the region degraded.
    #[arg(long, env = "ROAM_MAX_JOB_WAIT_SECS", default_value_t = 60)]
    pub max_job_wait_secs: u64,
    /// How long idempotency records are kept, hours (a retry later than that runs again).
    #[arg(long, env = "ROAM_IDEMPOTENCY_TTL_HOURS", default_value_t = 24)]
    pub idempotency_ttl_hours: u32,
    /// Every other region's node, as space-separated REGION=postgres://… pairs: statements
    /// about that region's cities go there directly, in one round trip.
    #[arg(long, env = "ROAM_PEERS", default_value = "", hide_env_values = true)]
    pub peers: String,
    /// Most connections this origin holds to each other region's node.
    #[arg(long, env = "ROAM_PEER_MAX_CONNECTIONS", default_value_t = 8)]
    pub peer_max_connections: u32,
    /// The key of the email claims' hash, as <id>:<secret> (secret ≥ 32 bytes); required
    /// outside development.
    #[arg(long, env = "ROAM_CLAIM_KEY", hide_env_values = true)]
    pub claim_key: Option<String>,
    /// The previous claim key while a rotation is under way (claims are made and looked up
    /// under both until `reconcile-claims` has re-keyed them).
    #[arg(long, env = "ROAM_CLAIM_KEY_PREVIOUS", hide_env_values = true)]
    pub claim_key_previous: Option<String>,
    /// Background job workers (ROAM_JOBS_*, ROAM_PRICES).
    #[command(flatten)]
    pub jobs: crate::jobs::JobArgs,
}

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
        if !args.database_url.starts_with("postgres://")
            && !args.database_url.starts_with("postgresql://")
        {
            bail!("DATABASE_URL must be a postgres:// URL");
        }
        let keys = shared_keys(&args)?;
        check_ranges(&args)?;
        let claim_keys = ClaimKeys::from_args(
            args.claim_key.as_deref(),
            args.claim_key_previous.as_deref(),
            args.env,
        )?;
        let peers = peers::validate_peers(&args.peers, &map, &args.region, args.env)?;
        let jobs = crate::jobs::JobConfig::from_args(&args.jobs, &map)?;
        Ok(Self {
            region: args.region,
            listen,
            admin_listen,
            limits: Limits {
                header_read_timeout: Duration::from_millis(args.header_read_timeout_ms),
                max_connections: args.max_connections,
            },
            database_url: SecretString::from(args.database_url),
            keys,
            env: args.env,
            map,
            request_timeout: Duration::from_millis(args.request_timeout_ms),
            db_max_connections: args.db_max_connections,
            db_acquire_timeout: Duration::from_millis(args.db_acquire_timeout_ms),
            cache_control: format!(
                "public, s-maxage={}, stale-while-revalidate={}, stale-if-error={}",
                args.cache_s_maxage, args.cache_stale_while_revalidate, args.cache_stale_if_error
            ),
            argon2_memory_kib: args.argon2_memory_kib,
            hash_concurrency: args
                .hash_concurrency
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from)),
            hash_wait: Duration::from_millis(args.hash_wait_ms),
            login_lock: LockPolicy {
                free_failures: args.login_free_failures,
                first_lock: Duration::from_secs(args.login_first_lock_secs),
                longest_lock: Duration::from_secs(args.login_longest_lock_secs),
            },
            login_failure_floor: Duration::from_millis(args.login_failure_floor_ms),
            max_ride: Duration::from_secs(args.ride_max_minutes * 60),
            health: Bounds {
                standby_lag: Duration::from_secs(args.max_standby_lag_secs),
                job_wait: Duration::from_secs(args.max_job_wait_secs),
            },
            vehicles_per_hour: args.vehicles_per_hour,
            idempotency_ttl: Duration::from_secs(u64::from(args.idempotency_ttl_hours) * 3600),
            signature_window_secs: roam_shared::signature::DEFAULT_WINDOW_SECS,
            peers,
            peer_max_connections: args.peer_max_connections,
            claim_keys,
            jobs,
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

/// ROAM_SECRET (and ROAM_SECRET_ACCEPTED during a rotation) as a ring; the public development
/// secret only under ROAM_ENV=development.
fn shared_keys(args: &ServeArgs) -> anyhow::Result<Keyring> {
    let secret = match (&args.secret, args.env) {
        (Some(secret), _) => secret.as_str(),
        (None, Environment::Development) => roam_shared::signature::DEV_SECRET,
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

/// Every numeric setting within its range; the message names the variable.
fn check_ranges(args: &ServeArgs) -> anyhow::Result<()> {
    within(
        "ROAM_REQUEST_TIMEOUT_MS",
        args.request_timeout_ms,
        100,
        600_000,
    )?;
    within("ROAM_DB_MAX_CONNECTIONS", args.db_max_connections, 1, 1000)?;
    within(
        "ROAM_DB_ACQUIRE_TIMEOUT_MS",
        args.db_acquire_timeout_ms,
        10,
        600_000,
    )?;
    within(
        "ROAM_ARGON2_MEMORY_KIB",
        args.argon2_memory_kib,
        64,
        1_048_576,
    )?;
    within(
        "ROAM_IDEMPOTENCY_TTL_HOURS",
        args.idempotency_ttl_hours,
        1,
        24 * 365,
    )?;
    within(
        "ROAM_PEER_MAX_CONNECTIONS",
        args.peer_max_connections,
        1,
        1000,
    )?;
    within(
        "ROAM_HASH_CONCURRENCY",
        args.hash_concurrency.unwrap_or(1),
        1,
        256,
    )?;
    within("ROAM_HASH_WAIT_MS", args.hash_wait_ms, 1, 60_000)?;
    within(
        "ROAM_HEADER_READ_TIMEOUT_MS",
        args.header_read_timeout_ms,
        100,
        600_000,
    )?;
    within("ROAM_MAX_CONNECTIONS", args.max_connections, 1, 1_000_000)?;
    within(
        "ROAM_LOGIN_FREE_FAILURES",
        args.login_free_failures,
        1,
        1000,
    )?;
    within(
        "ROAM_LOGIN_FIRST_LOCK_SECS",
        args.login_first_lock_secs,
        1,
        3600,
    )?;
    within(
        "ROAM_LOGIN_LONGEST_LOCK_SECS",
        args.login_longest_lock_secs,
        1,
        86_400,
    )?;
    within(
        "ROAM_LOGIN_FAILURE_FLOOR_MS",
        args.login_failure_floor_ms,
        0,
        10_000,
    )?;
    within(
        "ROAM_RIDE_MAX_MINUTES",
        args.ride_max_minutes,
        1,
        7 * 24 * 60,
    )?;
    within("ROAM_VEHICLES_PER_HOUR", args.vehicles_per_hour, 1, 100_000)
}

fn within<T: PartialOrd + std::fmt::Display + Copy>(
    name: &str,
    value: T,
    low: T,
    high: T,
) -> anyhow::Result<()> {
    if value < low || value > high {
        bail!("{name} must be between {low} and {high}");
    }
    Ok(())
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
