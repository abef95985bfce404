//! The edge's configuration, from the Worker's vars and secrets (see wrangler.toml):
//!
//! | name | what | default |
//! |---|---|---|
//! | `ORIGINS` | JSON object, region → origin base URL, or a list of them (the region's pool, balanced by [`crate::pool`]); every region of the map needs at least one | — |
//! | `ROAM_SECRET` | the secret shared with the origins (a Worker secret; `.dev.vars` locally): signs requests and bookmarks | `DEV_SECRET` in development only |
//! | `ROAM_SECRET_ACCEPTED` | during a rotation, the other secret: accepted in tokens and bookmarks, never used to sign (first the new one, then the old one: DEPLOY.md) | none |
//! | `ROAM_ENV` | `development`, `staging` or `production` | `production` |
//! | `ORIGIN_TIMEOUT_MS` | timeout of one origin call for a read, including its body | 3000 |
//! | `ORIGIN_WRITE_TIMEOUT_MS` | the same for a write | `ORIGIN_TIMEOUT_MS` |
//! | `EDGE_TEST_PANIC` | `1`: `GET /__test/panic` panics (development only; for the tests) | off |
//! | `REGION_MAP` | a region map (JSON) replacing the compiled-in one | built in |
//!
//! Parsed once and kept for the isolate's life (the region map, the origin pools, the secret);
//! validated, with messages that name the variable at fault. It is
//! parsed again only when workerd hands over a different `env` object: the same isolate always
//! gets the same one (measured), and new vars come with a new deployment, hence a new `env`.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use roam_shared::signature::DEV_SECRET;
use roam_shared::{Keyring, RegionMap, SharedSecret};
use wasm_bindgen::JsValue;

use crate::breaker::BreakerPolicy;
use crate::error::{EdgeError, Result};

/// Default timeout of one origin call. A loopback origin answers in milliseconds and a real
/// cross-ocean one in ~150 ms plus its database work; 3 s is far past a healthy answer yet
/// short enough that failing over still feels like one slow request rather than a dead site.
pub const DEFAULT_ORIGIN_TIMEOUT_MS: u32 = 3_000;

/// The edge's validated configuration.
#[derive(Debug)]
pub struct Config {
    /// The pool of origin base URLs per region (no trailing slash; at least one each).
    pub origins: BTreeMap<String, Vec<String>>,
    /// The edge↔origin secrets: the current one signs, during a rotation another is accepted.
    pub keys: Keyring,
    /// The region map.
    pub map: RegionMap,
    /// Timeout of one origin call for a read, ms.
    pub origin_timeout_ms: u32,
    /// Timeout of one origin call for a write, ms.
    pub write_timeout_ms: u32,
    /// Circuit breaker thresholds.
    pub breaker: BreakerPolicy,
    /// `development`, `staging` or `production`.
    pub environment: String,
    /// Whether `GET /__test/panic` panics (`EDGE_TEST_PANIC=1`, development only).
    pub test_panic_route: bool,
}

thread_local! {
    /// The `env` object the configuration was read from, and what was parsed from it.
    static CONFIG: RefCell<Option<(JsValue, Rc<Config>)>> = const { RefCell::new(None) };
}

impl Config {
    /// The configuration of this isolate: parsed on first use, and again only when `env` is
    /// another object than last time (one identity comparison per request).
    pub fn load(env: &worker::Env) -> Result<Rc<Config>> {
        let env_value: &JsValue = env;
        let cached = CONFIG.with(|c| {
            c.borrow()
                .as_ref()
                .filter(|(seen, _)| seen == env_value)
                .map(|(_, config)| config.clone())
        });
        if let Some(config) = cached {
            return Ok(config);
        }
        let config = Rc::new(Self::from_lookup(|name| {
            env.secret(name)
                .map(|s| s.to_string())
                .or_else(|_| env.var(name).map(|v| v.to_string()))
                .ok()
        })?);
        CONFIG.with(|c| *c.borrow_mut() = Some((env_value.clone(), config.clone())));
        Ok(config)
    }

    /// Parses and validates from a variable lookup (the testable core of [`Config::load`]).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config> {
        let environment = environment(&get)?;
        let map = region_map(&get)?;
        let keys = keyring(&get, &environment)?;
        let origins = origins(&get, &map)?;
        let origin_timeout_ms = timeout(&get, "ORIGIN_TIMEOUT_MS", DEFAULT_ORIGIN_TIMEOUT_MS)?;
        // Writes default to the same timeout: a write given up on is sent to another origin,
        // and the idempotency key (its record commits with the effect on the home node, and a
        // concurrent duplicate waits for it) keeps that to one effect. A deployment whose
        // writes are slow (Argon2 at sign-up on small machines) can give them longer.
        let write_timeout_ms = timeout(&get, "ORIGIN_WRITE_TIMEOUT_MS", origin_timeout_ms)?;
        Ok(Config {
            origins,
            keys,
            map,
            origin_timeout_ms,
            write_timeout_ms,
            breaker: BreakerPolicy::default(),
            test_panic_route: environment == "development"
                && get("EDGE_TEST_PANIC").as_deref() == Some("1"),
            environment,
        })
    }

    /// The pool of origin base URLs of a region (empty for a region the map does not have).
    pub fn pool(&self, region: &str) -> &[String] {
        self.origins.get(region).map_or(&[], Vec::as_slice)
    }
}

fn bad(msg: String) -> EdgeError {
    EdgeError::Config(msg)
}

/// `ROAM_ENV`: development, staging or production (the default).
fn environment(get: &impl Fn(&str) -> Option<String>) -> Result<String> {
    let environment = get("ROAM_ENV").unwrap_or_else(|| "production".into());
    if !matches!(
        environment.as_str(),
        "development" | "staging" | "production"
    ) {
        return Err(bad(format!(
            "ROAM_ENV must be development, staging or production, not `{environment}`"
        )));
    }
    Ok(environment)
}

/// `REGION_MAP`, or the built-in map when it is unset or blank.
fn region_map(get: &impl Fn(&str) -> Option<String>) -> Result<RegionMap> {
    Ok(match get("REGION_MAP").filter(|m| !m.trim().is_empty()) {
        Some(json) => RegionMap::from_json(&json).map_err(|e| bad(format!("REGION_MAP: {e}")))?,
        None => RegionMap::builtin().clone(),
    })
}

/// `ROAM_SECRET` and, during a rotation, `ROAM_SECRET_ACCEPTED`; the development secret only
/// in development.
fn keyring(get: &impl Fn(&str) -> Option<String>, environment: &str) -> Result<Keyring> {
    let secret_text = match get("ROAM_SECRET").filter(|s| !s.is_empty()) {
        Some(s) => s,
        None if environment == "development" => DEV_SECRET.to_string(),
        None => {
            return Err(bad(
                "ROAM_SECRET is not set (wrangler secret put ROAM_SECRET)".into(),
            ))
        }
    };
    let secret = SharedSecret::parse(&secret_text).map_err(|e| bad(format!("ROAM_SECRET: {e}")))?;
    let accepted = match get("ROAM_SECRET_ACCEPTED").filter(|s| !s.is_empty()) {
        Some(text) => Some(
            SharedSecret::parse(&text).map_err(|e| bad(format!("ROAM_SECRET_ACCEPTED: {e}")))?,
        ),
        None => None,
    };
    let dev_default =
        secret.is_dev_default() || accepted.as_ref().is_some_and(SharedSecret::is_dev_default);
    if dev_default && environment != "development" {
        return Err(bad(format!(
            "ROAM_SECRET is the development default, refused in {environment}"
        )));
    }
    Ok(Keyring::new(secret, accepted))
}

/// `ORIGINS`: each region's pool, checked against the map.
fn origins(
    get: &impl Fn(&str) -> Option<String>,
    map: &RegionMap,
) -> Result<BTreeMap<String, Vec<String>>> {
    let origins_json = get("ORIGINS").ok_or_else(|| bad("ORIGINS is not set".into()))?;
    let origins: BTreeMap<String, serde_json::Value> = serde_json::from_str(&origins_json)
        .map_err(|e| {
            bad(format!(
                "ORIGINS must be a JSON object of region → URL or list of URLs: {e}"
            ))
        })?;
    validate_origins(map, origins).map_err(bad)
}

/// A timeout variable in milliseconds (50 to 60000), `default` when unset.
fn timeout(get: &impl Fn(&str) -> Option<String>, name: &str, default: u32) -> Result<u32> {
    match get(name) {
        None => Ok(default),
        Some(ms) => ms
            .trim()
            .parse()
            .ok()
            .filter(|ms| (50..=60_000).contains(ms))
            .ok_or_else(|| bad(format!("{name} must be 50 to 60000, not `{ms}`"))),
    }
}

/// Checks every region of the map has a pool and every pool is a non-empty list of distinct
/// http(s) base URLs (a single string is a pool of one).
fn validate_origins(
    map: &RegionMap,
    origins: BTreeMap<String, serde_json::Value>,
) -> std::result::Result<BTreeMap<String, Vec<String>>, String> {
    use serde_json::Value;
    for region in &map.regions {
        if !origins.contains_key(&region.name) {
            return Err(format!("ORIGINS has no URL for region `{}`", region.name));
        }
    }
    origins
        .into_iter()
        .map(|(region, value)| {
            if map.region(&region).is_none() {
                return Err(format!("ORIGINS names unknown region `{region}`"));
            }
            let urls = match value {
                Value::String(url) => vec![url],
                Value::Array(items) if items.is_empty() => {
                    return Err(format!(
                        "ORIGINS[{region}] is an empty list: give at least one URL"
                    ))
                }
                Value::Array(items) => items
                    .into_iter()
                    .map(|item| match item {
                        Value::String(url) => Ok(url),
                        other => Err(format!(
                            "ORIGINS[{region}] lists `{other}`, not a URL string"
                        )),
                    })
                    .collect::<std::result::Result<_, _>>()?,
                other => {
                    return Err(format!(
                        "ORIGINS[{region}] must be a URL or a list of URLs, not `{other}`"
                    ))
                }
            };
            let mut pool: Vec<String> = Vec::with_capacity(urls.len());
            for url in urls {
                let url = url.trim().trim_end_matches('/').to_string();
                let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
                if !scheme_ok || url.contains(['?', '#', ' ']) {
                    return Err(format!(
                        "ORIGINS[{region}] must be http(s) base URLs, not `{url}`"
                    ));
                }
                if pool.contains(&url) {
                    return Err(format!("ORIGINS[{region}] lists `{url}` twice"));
                }
                pool.push(url);
            }
            Ok((region, pool))
        })
        .collect()
}

#[cfg(test)]
mod tests;
