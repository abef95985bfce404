//! The capnp config `workerd serve` reads: the Worker on its socket (`request.cf` from the
//! `MF-CF-Blob` header), its outbound network, the cache service.

use std::fmt::Write as _;

use anyhow::{Context, Result};

use super::{WorkerdEdgeOptions, COMPATIBILITY_DATE};
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
    let mut out = String::from("using Workerd = import \"/workerd/workerd.capnp\";\n");
    let _ = write!(
        out,
        "const config :Workerd.Config = (\n  services = [\n    (name = \"worker\", worker = .worker),\n    \
         (name = \"cache\", worker = .cache),\n    \
         (name = \"internet\", network = (allow = [\"public\", \"private\", \"local\"])),\n  ],\n  \
         sockets = [(name = \"http\", address = \"127.0.0.1:{port}\", service = \"worker\", \
         http = (cfBlobHeader = {}))],\n);\n",
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
}
