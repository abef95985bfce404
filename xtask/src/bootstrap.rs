//! Installs what the stack and the tests need and is missing, idempotently: quick when all
//! is there. Only package registries are used (crates.io, npm, Debian).

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::util::{cmd, has_command, output_of};

/// Everything, in the order later steps need it.
pub(crate) fn run(root: &Path, with_browser: bool) -> Result<()> {
    wasm_target()?;
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).context("reading Cargo.lock")?;
    cargo_tool(
        "wasm-bindgen",
        "wasm-bindgen-cli",
        &locked_version(&lock, "wasm-bindgen")?,
    )?;
    cargo_tool(
        "worker-build",
        "worker-build",
        &locked_version(&lock, "worker")?,
    )?;
    npm_packages(root)?;
    postgres()?;
    if with_browser {
        chromium()?;
    }
    // The independent API tester of tests/tests/schemathesis.rs.
    crate::ci_checks::pytools::python_tool(root, "schemathesis", &["schemathesis==4.32.5"])?;
    Ok(())
}

/// The open-loop load generator of `cargo xtask bench` (its load part), from crates.io.
pub(crate) const OHA_VERSION: &str = "1.16.0";

/// What only the bench needs: `oha` (at [`OHA_VERSION`]) for its load part and `perf` (Debian)
/// for `--only profile`. `cargo xtask bootstrap` and the bench install them; the test
/// command does not.
pub(crate) fn bench_tools() -> Result<()> {
    cargo_tool("oha", "oha", OHA_VERSION)?;
    if !has_command("perf") {
        apt_install(&["linux-perf"])?;
    }
    Ok(())
}

/// The version Cargo.lock pins for `package`.
pub(crate) fn locked_version(lock: &str, package: &str) -> Result<String> {
    let needle = format!("name = \"{package}\"\nversion = \"");
    let start = lock
        .find(&needle)
        .with_context(|| format!("{package} is not in Cargo.lock"))?
        + needle.len();
    let end = lock[start..].find('"').context("malformed Cargo.lock")? + start;
    Ok(lock[start..end].to_string())
}

fn wasm_target() -> Result<()> {
    let installed = output_of(Command::new("rustup").args(["target", "list", "--installed"]))?;
    if !installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        eprintln!("bootstrap: adding the wasm32-unknown-unknown target");
        cmd(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    Ok(())
}

/// Installs `crate_name` at exactly `version` unless `binary --version` already says it.
fn cargo_tool(binary: &str, crate_name: &str, version: &str) -> Result<()> {
    let current = output_of(Command::new(binary).arg("--version")).unwrap_or_default();
    if current.split_whitespace().any(|word| word == version) {
        return Ok(());
    }
    eprintln!("bootstrap: installing {crate_name} {version} (a few minutes, once)");
    // `--locked` first: the versions its authors tested, not the newest that semver allows (a
    // dependency released later may need a newer rustc than this machine's, and did). A
    // registry mirror may lack one of those exact versions (it lacked webpki-roots 1.0.11 for
    // wasm-bindgen-cli 0.2.130): then the newest versions the mirror has that semver allows.
    let install = |locked: bool| {
        let mut install = Command::new("cargo");
        install.args(["install", crate_name, "--version", version, "--force"]);
        if locked {
            install.arg("--locked");
        }
        cmd(&mut install)
    };
    install(true).or_else(|locked_failed| {
        eprintln!(
            "bootstrap: {crate_name} {version} with its own lock file failed ({locked_failed:#}); \
             trying the versions this registry has"
        );
        install(false)
    })
}

fn npm_packages(root: &Path) -> Result<()> {
    if !has_command("npm") {
        bail!("npm is missing: install Node.js 20 (Debian: apt-get install nodejs npm)");
    }
    let installed = root.join("node_modules/.package-lock.json");
    let wanted = root.join("package-lock.json");
    let fresh = match (installed.metadata(), wanted.metadata()) {
        (Ok(a), Ok(b)) => a.modified()? >= b.modified()?,
        _ => false,
    };
    if !fresh || !root.join("node_modules/.bin/wrangler").exists() {
        eprintln!("bootstrap: npm ci (wrangler, binaryen, playwright-core, swagger-ui-dist)");
        cmd(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(root))?;
    }
    Ok(())
}

fn postgres() -> Result<()> {
    if roam_stack::pg::bin_dir().is_err() {
        apt_install(&["postgresql", "postgresql-contrib"])?;
        roam_stack::pg::bin_dir()?;
    }
    // A primary and a standby per region (`dev --ha`, the failover tests): pg_auto_failover's
    // program and its monitor's extension, for the PostgreSQL 15 of Debian 12.
    if !roam_stack::ha::is_installed() {
        apt_install(&roam_stack::ha::PACKAGES)?;
        anyhow::ensure!(
            roam_stack::ha::is_installed(),
            "pg_auto_failover is still missing after installing {}",
            roam_stack::ha::PACKAGES.join(" ")
        );
    }
    Ok(())
}

fn chromium() -> Result<()> {
    if Path::new("/usr/bin/chromium").exists() {
        return Ok(());
    }
    apt_install(&["chromium"])
}

fn apt_install(packages: &[&str]) -> Result<()> {
    let root = output_of(Command::new("id").arg("-u"))?.trim() == "0";
    let sudo: &[&str] = if root { &[] } else { &["sudo"] };
    eprintln!("bootstrap: installing {} with apt-get", packages.join(" "));
    let apt = |args: &[&str]| {
        let mut c = Command::new(sudo.first().copied().unwrap_or("apt-get"));
        if !sudo.is_empty() {
            c.arg("apt-get");
        }
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd(&mut c)
    };
    apt(&["update", "-q"])?;
    let mut args = vec!["install", "-y", "-q", "--no-install-recommends"];
    args.extend_from_slice(packages);
    apt(&args)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_versions_from_the_lock_file() {
        let lock = "[[package]]\nname = \"worker\"\nversion = \"0.8.7\"\n";
        assert_eq!(super::locked_version(lock, "worker").unwrap(), "0.8.7");
        assert!(super::locked_version(lock, "axum").is_err());
    }
}
