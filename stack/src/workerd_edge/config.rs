//! The capnp config `workerd serve` reads: the Worker on its socket (`request.cf` from the
//! `MF-CF-Blob` header), its outbound network, the cache service, its rate-limiting bindings.

use std::fmt::Write as _;

use anyhow::{Context, Result};

use super::{RateLimit, WorkerdEdgeOptions, COMPATIBILITY_DATE};
use crate::front::CF_BLOB;

/// The capnp config: the Worker on its socket, its outbound network, the cache service.
pub(super) fn capnp(options: &WorkerdEdgeOptions, port: u16) -> Result<String> {
    let mut modules = Vec::new();
    for module in &options.modules {
        let name = module
            .file_name()
            .and_then(|n| n.to_str())
            .context("a module name that is not UTF-8")?;
        let kind = if name.ends_with(".wasm") {
            "wasm"
        } else {
            "esModule"
        };
        modules.push(format!(
            "(name = {}, {kind} = embed {})",
            text(name),
            text(name)
        ));
    }
    let mut bindings: Vec<String> = options
        .vars
        .iter()
        .map(|(name, value)| format!("(name = {}, text = {})", text(name), text(value)))
        .collect();
    for name in options.secrets.keys() {
        bindings.push(format!(
            "(name = {}, fromEnvironment = {})",
            text(name),
            text(name)
        ));
    }
    bindings.extend(options.rate_limits.iter().map(rate_limit_binding));
    let mut out = String::from("using Workerd = import \"/workerd/workerd.capnp\";\n");
    let _ = write!(
        out,
        "const config :Workerd.Config = (\n  services = [\n    (name = \"worker\", worker = .worker),\n    \
         (name = \"cache\", worker = .cache),\n    \
         (name = \"internet\", network = (allow = [\"public\", \"private\", \"local\"])),\n  ],\n  \
         sockets = [(name = \"http\", address = \"127.0.0.1:{port}\", service = \"worker\", \
         http = (cfBlobHeader = {}))],\n  \
         extensions = [(modules = [(name = {RATE_LIMIT_MODULE}, esModule = embed \"ratelimit.js\", \
         internal = true)])],\n);\n",
        text(CF_BLOB)
    );
    let _ = write!(
        out,
        "const worker :Workerd.Worker = (\n  modules = [{}],\n  compatibilityDate = {},\n  \
         bindings = [{}],\n  globalOutbound = \"internet\",\n  cacheApiOutbound = \"cache\",\n);\n",
        modules.join(", "),
        text(COMPATIBILITY_DATE),
        bindings.join(", ")
    );
    let _ = write!(
        out,
        "const cache :Workerd.Worker = (\n  modules = [(name = \"cache.js\", esModule = embed \"cache.js\")],\n  \
         compatibilityDate = {},\n);\n",
        text(COMPATIBILITY_DATE)
    );
    Ok(out)
}

/// The wrapped bindings' module: internal, so only bindings can load it, never the Worker.
const RATE_LIMIT_MODULE: &str = "\"roam-harness:ratelimit\"";

fn rate_limit_binding(limit: &RateLimit) -> String {
    format!(
        "(name = {}, wrapped = (moduleName = {RATE_LIMIT_MODULE}, innerBindings = [\
         (name = \"limit\", json = \"{}\"), (name = \"period\", json = \"{}\")]))",
        text(&limit.binding),
        limit.limit,
        limit.period_secs
    )
}

/// wrangler.toml's top-level `[[ratelimits]]` (those `wrangler dev` simulates; each
/// environment repeats its own), from lines such as `name = "SIGN_UP_LIMITER"` and
/// `simple = { limit = 5, period = 60 }`. A block it cannot read is left out.
pub(super) fn rate_limits(wrangler_toml: &str) -> Vec<RateLimit> {
    /// A `[[ratelimits]]` block being read: its binding's name and (limit, period).
    type Block = (Option<String>, Option<(u32, u32)>);
    let mut limits = Vec::new();
    let mut block: Option<Block> = None;
    let lines = wrangler_toml.lines().map(str::trim).chain(["[end]"]);
    for line in lines.filter(|l| !l.is_empty() && !l.starts_with('#')) {
        if line.starts_with('[') {
            if let Some((Some(binding), Some((limit, period_secs)))) = block.take() {
                limits.push(RateLimit {
                    binding,
                    limit,
                    period_secs,
                });
            }
            block = (line == "[[ratelimits]]").then_some((None, None));
            continue;
        }
        let (Some((name, simple)), Some((key, value))) = (block.as_mut(), line.split_once('='))
        else {
            continue;
        };
        match key.trim() {
            "name" => *name = Some(value.trim().trim_matches('"').to_string()),
            "simple" => *simple = limit_and_period(value),
            _ => {}
        }
    }
    limits
}

/// `{ limit = 5, period = 60 }` → (5, 60).
fn limit_and_period(table: &str) -> Option<(u32, u32)> {
    let inner = table.trim().strip_prefix('{')?.strip_suffix('}')?;
    let field = |wanted: &str| {
        inner.split(',').find_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            (key.trim() == wanted).then(|| value.trim().parse().ok())?
        })
    };
    Some((field("limit")?, field("period")?))
}

/// A capnp text literal.
fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c) & 0xff);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn the_config_binds_the_worker_alone_with_cf_from_the_header_and_a_cache() {
        let mut options = WorkerdEdgeOptions::script("t", Path::new("/x/worker.js"), "/");
        options
            .vars
            .insert("ORIGINS".into(), r#"{"a":"http://b"}"#.into());
        options.secrets.insert("ROAM_SECRET".into(), "hush".into());
        let config = capnp(&options, 4321).expect("a config");
        assert!(config.contains(r#"address = "127.0.0.1:4321", service = "worker""#));
        assert!(config.contains(r#"cfBlobHeader = "mf-cf-blob""#));
        assert!(config.contains(r#"cacheApiOutbound = "cache""#));
        assert!(config.contains(r#"(name = "ORIGINS", text = "{\"a\":\"http://b\"}")"#));
        assert!(config.contains(r#"(name = "ROAM_SECRET", fromEnvironment = "ROAM_SECRET")"#));
        assert!(!config.contains("hush"), "secrets stay out of the file");
        assert_eq!(text("a\\b\u{1}"), r#""a\\b\x01""#);
    }

    #[test]
    fn wranglers_own_rate_limits_become_wrapped_bindings() {
        let wrangler = std::fs::read_to_string(crate::edge::workspace_root().join("wrangler.toml"))
            .expect("wrangler.toml");
        let limits = rate_limits(&wrangler);
        let names: Vec<&str> = limits.iter().map(|l| l.binding.as_str()).collect();
        assert_eq!(names, ["SIGN_UP_LIMITER", "LOG_IN_LIMITER"], "{limits:?}");
        assert!(limits.iter().all(|l| l.limit > 0 && l.period_secs == 60));
        let mut options = WorkerdEdgeOptions::script("t", Path::new("/x/worker.js"), "/");
        options.rate_limits = limits;
        let config = capnp(&options, 1).expect("a config");
        assert!(config.contains(
            r#"(name = "SIGN_UP_LIMITER", wrapped = (moduleName = "roam-harness:ratelimit""#
        ));
        assert!(config.contains(r#"esModule = embed "ratelimit.js", internal = true"#));
    }
}
