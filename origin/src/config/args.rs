//! The flags and environment variables of `roam-origin serve`, as clap reads them (unchecked:
//! [`super::Config::from_args`] validates them).

use std::path::PathBuf;

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
