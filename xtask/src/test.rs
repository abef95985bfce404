//! `cargo xtask test`: every check, in the order that fails fastest, with a timing summary.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Result};

use crate::bootstrap;
use crate::util::{cmd, cmd_keeping_tail};

/// How much of a failed step's output the final error repeats (after the summary).
const TAIL_LINES: usize = 40;

/// Options of `cargo xtask test`.
#[derive(clap::Args)]
pub(crate) struct TestArgs {
    /// Skip the format and lint steps.
    #[arg(long)]
    pub no_lint: bool,
    /// Extra arguments for `cargo test` (e.g. a test name filter), after `--`.
    #[arg(last = true)]
    pub cargo_test_args: Vec<String>,
}

struct Step {
    name: &'static str,
    seconds: f64,
    ok: bool,
}

/// Runs every step; stops at the first failure and prints what ran.
pub(crate) fn run(root: &Path, args: &TestArgs) -> Result<()> {
    let mut steps: Vec<Step> = Vec::new();
    let mut step = |name: &'static str, f: &mut dyn FnMut() -> Result<()>| -> Result<()> {
        eprintln!("\n==> {name}");
        let started = Instant::now();
        let result = f();
        steps.push(Step {
            name,
            seconds: started.elapsed().as_secs_f64(),
            ok: result.is_ok(),
        });
        result
    };
    let cargo = |args: &[&str]| -> Result<()> {
        cmd_keeping_tail(
            Command::new("cargo").args(args).current_dir(root),
            TAIL_LINES,
        )
    };
    let result = (|| -> Result<()> {
        step("bootstrap (install what is missing)", &mut || {
            bootstrap::run(root, true)
        })?;
        if !args.no_lint {
            step("cargo fmt --check", &mut || {
                cargo(&["fmt", "--all", "--check"])
            })?;
            step("OpenAPI document up to date", &mut || {
                crate::openapi::run(root, true)
            })?;
            step("clippy (native, all targets)", &mut || {
                cargo(&[
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--",
                    "-D",
                    "warnings",
                ])
            })?;
            step("clippy (wasm32: edge, shared)", &mut || {
                cargo(&[
                    "clippy",
                    "-p",
                    "roam-edge",
                    "-p",
                    "roam-shared",
                    "--target",
                    "wasm32-unknown-unknown",
                    "--",
                    "-D",
                    "warnings",
                ])
            })?;
        }
        step("build the edge (worker-build, release)", &mut || {
            cmd(Command::new("bash")
                .arg(root.join("scripts/build-edge.sh"))
                .current_dir(root))
        })?;
        step("workflows (actionlint)", &mut || {
            crate::ci_checks::lint_workflows(root)
        })?;
        step("deploy/Dockerfile (build, else hadolint)", &mut || {
            crate::ci_checks::lint_dockerfile(root)
        })?;
        step("edge bundle gate (staging, production)", &mut || {
            crate::ci_checks::bundle_gate(root)
        })?;
        step("build roam-origin", &mut || {
            cargo(&["build", "-p", "roam-origin"])
        })?;
        step(
            "cargo test (unit, property, integration, end-to-end)",
            &mut || {
                let mut test_args = vec!["test", "--workspace", "--no-fail-fast"];
                if !args.cargo_test_args.is_empty() {
                    test_args.push("--");
                    test_args.extend(args.cargo_test_args.iter().map(String::as_str));
                }
                cargo(&test_args)
            },
        )?;
        step(
            "bench --short (the journey runs; tables well-formed)",
            &mut || {
                cmd_keeping_tail(
                    Command::new(std::env::current_exe()?)
                        .args(["bench", "--short"])
                        .current_dir(root),
                    TAIL_LINES,
                )
            },
        )?;
        Ok(())
    })();
    eprintln!("\nsummary of cargo xtask test:");
    for s in &steps {
        eprintln!(
            "  {:<5} {:>7.1}s  {}",
            if s.ok { "ok" } else { "FAIL" },
            s.seconds,
            s.name
        );
    }
    match result {
        Ok(()) => Ok(()),
        Err(e) => bail!("cargo xtask test failed: {e:#}"),
    }
}
