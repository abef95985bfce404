//! Configuration: typed, from flags or environment variables, validated once at start.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use roam_shared::email_claim::ClaimKey;
use roam_shared::{RegionMap, SharedSecret};

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
    /// This region's PostgreSQL node, e.g. postgres://postgres@127.0.0.1:5432/roam.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
    /// The secret shared with the edge (at least 16 bytes).
    #[arg(long, env = "ROAM_SECRET", hide_env_values = true, default_value = roam_shared::signature::DEV_SECRET)]
    pub secret: String,
    /// development or production.
    #[arg(long, env = "ROAM_ENV", value_enum, default_value = "development")]
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
    /// This region's node.
    pub database_url: String,
    /// Shared edge secret (redacted in Debug).
    pub secret: SharedSecret,
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
    /// How long idempotency records are kept.
    pub idempotency_ttl: Duration,
    /// Allowed signature clock skew, seconds.
    pub signature_window_secs: i64,
    /// Other regions' nodes: region → database URL.
    pub peers: BTreeMap<String, String>,
    /// Most connections to each other region's node.
    pub peer_max_connections: u32,
    /// The keys email claims are hashed with.
    pub claim_keys: ClaimKeys,
    /// Background job workers and the prices their fares use.
    pub jobs: crate::jobs::JobConfig,
}

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

/// `REGION=postgres://…`.
pub fn parse_peer(s: &str) -> Result<(String, String), String> {
    let (region, url) = s.split_once('=').ok_or("expected REGION=postgres://…")?;
    Ok((region.trim().to_string(), url.trim().to_string()))
}

/// Reads `ROAM_PEERS` and checks it against the map: known regions other than `own`,
/// postgres URLs, and in production one for every other region (without one, a region is
/// reached through FDW).
fn validate_peers(
    peers: &str,
    map: &RegionMap,
    own: &str,
    env: Environment,
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut checked = BTreeMap::new();
    for pair in peers.split_whitespace() {
        let (region, url) = parse_peer(pair).map_err(|e| anyhow::anyhow!("ROAM_PEERS: {e}"))?;
        if region == own || map.region(&region).is_none() {
            bail!("ROAM_PEERS: `{region}` is not another region of the map");
        }
        if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
            bail!("ROAM_PEERS: the URL for `{region}` must be a postgres:// URL");
        }
        if checked.insert(region.clone(), url).is_some() {
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
        if !args.database_url.starts_with("postgres://")
            && !args.database_url.starts_with("postgresql://")
        {
            bail!("DATABASE_URL must be a postgres:// URL");
        }
        let secret =
            SharedSecret::parse(&args.secret).map_err(|e| anyhow::anyhow!("ROAM_SECRET: {e}"))?;
        if args.env == Environment::Production && secret.is_dev_default() {
            bail!("ROAM_SECRET is the development secret, which ROAM_ENV=production refuses");
        }
        if !(100..=600_000).contains(&args.request_timeout_ms) {
            bail!("ROAM_REQUEST_TIMEOUT_MS must be between 100 and 600000");
        }
        if !(1..=1000).contains(&args.db_max_connections) {
            bail!("ROAM_DB_MAX_CONNECTIONS must be between 1 and 1000");
        }
        if !(10..=600_000).contains(&args.db_acquire_timeout_ms) {
            bail!("ROAM_DB_ACQUIRE_TIMEOUT_MS must be between 10 and 600000");
        }
        if !(64..=1_048_576).contains(&args.argon2_memory_kib) {
            bail!("ROAM_ARGON2_MEMORY_KIB must be between 64 and 1048576");
        }
        if !(1..=24 * 365).contains(&args.idempotency_ttl_hours) {
            bail!("ROAM_IDEMPOTENCY_TTL_HOURS must be between 1 and 8760");
        }
        if !(1..=1000).contains(&args.peer_max_connections) {
            bail!("ROAM_PEER_MAX_CONNECTIONS must be between 1 and 1000");
        }
        let claim_keys = ClaimKeys::from_args(
            args.claim_key.as_deref(),
            args.claim_key_previous.as_deref(),
            args.env,
        )?;
        let peers = validate_peers(&args.peers, &map, &args.region, args.env)?;
        let jobs = crate::jobs::JobConfig::from_args(&args.jobs, &map)?;
        Ok(Self {
            region: args.region,
            listen,
            database_url: args.database_url,
            secret,
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
        ])?;
        Self::from_args(wrapper.args)
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
mod tests {
    use super::*;

    fn args() -> ServeArgs {
        ServeArgs {
            region: "eu-west".into(),
            listen: "127.0.0.1:0".into(),
            database_url: "postgres://postgres@127.0.0.1:5432/roam".into(),
            secret: roam_shared::signature::DEV_SECRET.into(),
            env: Environment::Development,
            region_map: None,
            request_timeout_ms: 5000,
            db_max_connections: 8,
            db_acquire_timeout_ms: 1_000,
            cache_s_maxage: 5,
            cache_stale_while_revalidate: 30,
            cache_stale_if_error: 300,
            argon2_memory_kib: 19_456,
            idempotency_ttl_hours: 24,
            peers: String::new(),
            peer_max_connections: 8,
            claim_key: None,
            claim_key_previous: None,
            jobs: crate::jobs::JobArgs::default(),
        }
    }

    fn error(a: ServeArgs) -> String {
        format!("{:#}", Config::from_args(a).unwrap_err())
    }

    #[test]
    fn messages_name_the_variable_and_hide_the_secret() {
        assert!(Config::from_args(args()).is_ok());
        let prod = ServeArgs {
            env: Environment::Production,
            ..args()
        };
        let message = error(prod);
        assert!(
            message.contains("ROAM_SECRET")
                && !message.contains(roam_shared::signature::DEV_SECRET)
        );
        assert!(error(ServeArgs {
            region: "mars".into(),
            ..args()
        })
        .contains("ROAM_REGION"));
        assert!(error(ServeArgs {
            listen: "nope".into(),
            ..args()
        })
        .contains("ROAM_LISTEN"));
        assert!(error(ServeArgs {
            database_url: "mysql://x".into(),
            ..args()
        })
        .contains("DATABASE_URL"));
        assert!(error(ServeArgs {
            secret: "short".into(),
            ..args()
        })
        .contains("ROAM_SECRET"));
        assert!(error(ServeArgs {
            request_timeout_ms: 1,
            ..args()
        })
        .contains("ROAM_REQUEST_TIMEOUT_MS"));
        let debug = format!("{:?}", Config::from_args(args()).unwrap());
        assert!(!debug.contains(roam_shared::signature::DEV_SECRET));
        let c = Config::development("us-east", "postgres://postgres@127.0.0.1:1/x").unwrap();
        assert_eq!(
            c.cache_control,
            "public, s-maxage=5, stale-while-revalidate=30, stale-if-error=300"
        );
    }

    #[test]
    fn peers_and_claim_keys_are_checked() {
        let peer = |r: &str| format!("{r}=postgres://postgres@127.0.0.1:5432/roam");
        let with = |peers: Vec<String>| ServeArgs {
            peers: peers.join(" "),
            ..args()
        };
        let c = Config::from_args(with(vec![peer("us-east")])).unwrap();
        assert_eq!(c.peers.keys().collect::<Vec<_>>(), ["us-east"]);
        assert!(
            error(with(vec![peer("eu-west")])).contains("ROAM_PEERS"),
            "own region"
        );
        assert!(error(with(vec![peer("mars")])).contains("ROAM_PEERS"));
        assert!(error(with(vec!["nonsense".into()])).contains("ROAM_PEERS"));
        assert!(error(with(vec![peer("us-east"), peer("us-east")])).contains("twice"));
        let key = "k1:0123456789abcdef0123456789abcdef";
        let prod = ServeArgs {
            env: Environment::Production,
            secret: "a-production-secret-of-some-length".into(),
            claim_key: Some(key.into()),
            ..with(vec![peer("us-east")])
        };
        assert!(error(prod.clone()).contains("no URL for us-west"));
        let prod = ServeArgs {
            peers: [peer("us-east"), peer("us-west")].join(" "),
            ..prod
        };
        assert!(Config::from_args(prod.clone()).is_ok());
        let keyless = ServeArgs {
            claim_key: None,
            ..prod.clone()
        };
        assert!(error(keyless).contains("ROAM_CLAIM_KEY"));
        let same = ServeArgs {
            claim_key_previous: Some(key.into()),
            ..prod
        };
        assert!(error(same).contains("ROAM_CLAIM_KEY_PREVIOUS"));
        let dev = Config::from_args(args()).unwrap();
        assert!(dev.claim_keys.current.is_development() && dev.claim_keys.previous.is_none());
        assert!(!format!("{:?}", dev).contains("0123456789abcdef"));
    }
}
