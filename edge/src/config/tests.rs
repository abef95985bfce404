use super::*;

const ORIGINS: &str = r#"{"us-east":"http://127.0.0.1:1/","us-west":"http://127.0.0.1:2","eu-west":"https://eu.example"}"#;

fn load(vars: &[(&str, &str)]) -> Result<Config> {
    Config::from_lookup(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    })
}

fn message(r: Result<Config>) -> String {
    match r {
        Err(EdgeError::Config(m)) => m,
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn development_defaults() {
    let c = load(&[("ROAM_ENV", "development"), ("ORIGINS", ORIGINS)]).unwrap();
    assert!(c.keys.current().is_dev_default());
    assert_eq!(c.pool("us-east"), ["http://127.0.0.1:1"]);
    assert_eq!(c.origin_timeout_ms, DEFAULT_ORIGIN_TIMEOUT_MS);
}

#[test]
fn production_refuses_the_dev_secret_and_names_variables() {
    assert!(message(load(&[("ORIGINS", ORIGINS)])).contains("ROAM_SECRET"));
    let dev = [
        ("ROAM_ENV", "production"),
        ("ORIGINS", ORIGINS),
        ("ROAM_SECRET", DEV_SECRET),
    ];
    assert!(message(load(&dev)).contains("development default"));
    let ok = [
        ("ORIGINS", ORIGINS),
        ("ROAM_SECRET", "a-real-secret-of-32-characters!!"),
    ];
    assert_eq!(load(&ok).unwrap().environment, "production");
    let dev = [("ROAM_ENV", "development")];
    assert!(message(load(&dev)).contains("ORIGINS"));
    let partial = [
        ("ROAM_ENV", "development"),
        ("ORIGINS", r#"{"us-east":"http://a"}"#),
    ];
    assert!(message(load(&partial)).contains("us-west"));
    let timeout = [
        ("ROAM_ENV", "development"),
        ("ORIGINS", ORIGINS),
        ("ORIGIN_TIMEOUT_MS", "0"),
    ];
    assert!(message(load(&timeout)).contains("ORIGIN_TIMEOUT_MS"));
    let bad_url = ORIGINS.replace("https://eu.example", "ftp://eu");
    assert!(
        message(load(&[("ROAM_ENV", "development"), ("ORIGINS", &bad_url)])).contains("eu-west")
    );
}

#[test]
fn a_region_may_list_a_pool_of_origins() {
    let dev = |origins: &str| load(&[("ROAM_ENV", "development"), ("ORIGINS", origins)]);
    let pools = ORIGINS.replace(
        r#""https://eu.example""#,
        r#"["http://127.0.0.1:3/", "http://127.0.0.1:4"]"#,
    );
    let c = dev(&pools).unwrap();
    assert_eq!(
        c.pool("eu-west"),
        ["http://127.0.0.1:3", "http://127.0.0.1:4"]
    );
    assert_eq!(
        c.pool("us-west"),
        ["http://127.0.0.1:2"],
        "a string is a pool of one"
    );
    assert!(c.pool("mars").is_empty());

    let with_eu = |eu: &str| ORIGINS.replace(r#""https://eu.example""#, eu);
    let empty = message(dev(&with_eu("[]")));
    assert!(
        empty.contains("eu-west") && empty.contains("empty"),
        "{empty}"
    );
    let twice = message(dev(&with_eu(r#"["http://a", "http://a/"]"#)));
    assert!(twice.contains("twice"), "{twice}");
    let number = message(dev(&with_eu(r#"["http://a", 8103]"#)));
    assert!(number.contains("8103"), "{number}");
    let object = message(dev(&with_eu(r#"{"url":"http://a"}"#)));
    assert!(object.contains("ORIGINS[eu-west]"), "{object}");
    let bad_scheme = message(dev(&with_eu(r#"["http://a", "ftp://b"]"#)));
    assert!(bad_scheme.contains("ftp://b"), "{bad_scheme}");
}
