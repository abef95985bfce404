//! Configuration is refused with a message naming the variable, and never prints a secret.

use super::*;

fn args() -> ServeArgs {
    ServeArgs {
        region: "eu-west".into(),
        listen: "127.0.0.1:0".into(),
        admin_listen: "127.0.0.1:0".into(),
        header_read_timeout_ms: 10_000,
        max_connections: 1024,
        database_url: "postgres://postgres@127.0.0.1:5432/roam".into(),
        secret: None,
        secret_accepted: None,
        env: Environment::Development,
        region_map: None,
        request_timeout_ms: 5000,
        db_max_connections: 8,
        db_acquire_timeout_ms: 1_000,
        cache_s_maxage: 5,
        cache_stale_while_revalidate: 30,
        cache_stale_if_error: 300,
        argon2_memory_kib: 19_456,
        hash_concurrency: None,
        hash_wait_ms: 1_000,
        login_free_failures: 5,
        login_first_lock_secs: 1,
        login_longest_lock_secs: 900,
        login_failure_floor_ms: 400,
        ride_max_minutes: 120,
        vehicles_per_hour: 20,
        max_standby_lag_secs: 10,
        max_job_wait_secs: 60,
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
fn no_secret_outside_development_is_refused() {
    let prod = ServeArgs {
        env: Environment::Production,
        claim_key: Some("k1:0123456789abcdef0123456789abcdef".into()),
        ..args()
    };
    assert!(error(prod.clone()).contains("ROAM_SECRET is not set"));
    let dev_secret = ServeArgs {
        secret: Some(roam_shared::signature::DEV_SECRET.into()),
        ..prod
    };
    assert!(error(dev_secret).contains("development secret"));
    assert!(Config::from_args(args())
        .unwrap()
        .keys
        .current()
        .is_dev_default());
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
        message.contains("ROAM_SECRET") && !message.contains(roam_shared::signature::DEV_SECRET)
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
        secret: Some("short".into()),
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
        secret: Some("a-production-secret-of-some-length".into()),
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
    assert!(!format!("{dev:?}").contains("0123456789abcdef"));
    let with_passwords = ServeArgs {
        database_url: "postgres://roam:hunter2@db:5432/roam".into(),
        peers: "us-east=postgres://roam:hunter3@peer:5432/roam".into(),
        ..args()
    };
    let printed = format!("{:?}", Config::from_args(with_passwords).unwrap());
    assert!(
        !printed.contains("hunter2") && !printed.contains("hunter3"),
        "{printed}"
    );
}
