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

/// The steps run so far, with their timings, for the summary.
#[derive(Default)]
struct Steps(Vec<Step>);

impl Steps {
    /// Runs one named, timed step and records how it went.
    fn run(&mut self, name: &'static str, f: impl FnOnce() -> Result<()>) -> Result<()> {
        eprintln!("\n==> {name}");
        let started = Instant::now();
        let result = f();
        self.0.push(Step {
            name,
            seconds: started.elapsed().as_secs_f64(),
            ok: result.is_ok(),
        });
        result
    }
}

/// Runs every step; stops at the first failure and prints what ran.
pub(crate) fn run(root: &Path, args: &TestArgs) -> Result<()> {
    let mut steps = Steps::default();
    let result = run_steps(&mut steps, root, args);
    print_summary(&steps);
    match result {
        Ok(()) => Ok(()),
        Err(e) => bail!("cargo xtask test failed: {e:#}"),
    }
}

/// Every step, in the order that fails fastest.
fn run_steps(steps: &mut Steps, root: &Path, args: &TestArgs) -> Result<()> {
    steps.run("bootstrap (install what is missing)", || {
        bootstrap::run(root, true)
    })?;
    if !args.no_lint {
        lint_steps(steps, root)?;
    }
    build_steps(steps, root)?;
    test_steps(steps, root, args)
}

/// Format, the OpenAPI document's freshness and clippy (skipped by `--no-lint`).
fn lint_steps(steps: &mut Steps, root: &Path) -> Result<()> {
    steps.run("cargo fmt --check", || {
        cargo(root, &["fmt", "--all", "--check"])
    })?;
    steps.run("OpenAPI document up to date", || {
        crate::openapi::run(root, true)
    })?;
    steps.run("clippy (native, all targets)", || {
        cargo(
            root,
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
        )
    })?;
    steps.run("clippy (wasm32: edge, shared)", || {
        cargo(
            root,
            &[
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
            ],
        )
    })
}

/// The builds, and the checks of what ships (these run even with `--no-lint`).
fn build_steps(steps: &mut Steps, root: &Path) -> Result<()> {
    steps.run("build the edge (worker-build, release)", || {
        cmd(Command::new("bash")
            .arg(root.join("scripts/build-edge.sh"))
            .current_dir(root))
    })?;
    steps.run("workflows (actionlint)", || {
        crate::ci_checks::lint_workflows(root)
    })?;
    steps.run("deploy/Dockerfile (build, else hadolint)", || {
        crate::ci_checks::lint_dockerfile(root)
    })?;
    steps.run("edge bundle gate (staging, production)", || {
        crate::ci_checks::bundle_gate(root)
    })?;
    steps.run("build roam-origin", || {
        cargo(root, &["build", "-p", "roam-origin"])
    })
}

/// The test suite (with the extra `cargo test` arguments), then the short benchmark.
fn test_steps(steps: &mut Steps, root: &Path, args: &TestArgs) -> Result<()> {
    steps.run(
        "cargo test (unit, property, integration, end-to-end)",
        || {
            let mut test_args = vec!["test", "--workspace", "--no-fail-fast"];
            if !args.cargo_test_args.is_empty() {
                test_args.push("--");
                test_args.extend(args.cargo_test_args.iter().map(String::as_str));
            }
            cargo(root, &test_args)
        },
    )?;
    steps.run(
        "bench --short (the journey runs; tables well-formed)",
        || {
            cmd_keeping_tail(
                Command::new(std::env::current_exe()?)
                    .args(["bench", "--short"])
                    .current_dir(root),
                TAIL_LINES,
            )
        },
    )
}

/// `cargo <args>` in the workspace, repeating the tail of its output if it fails.
fn cargo(root: &Path, args: &[&str]) -> Result<()> {
    cmd_keeping_tail(
        Command::new("cargo").args(args).current_dir(root),
        TAIL_LINES,
    )
}

/// Which steps ran, how long each took and which failed.
fn print_summary(steps: &Steps) {
    eprintln!("\nsummary of cargo xtask test:");
    for s in &steps.0 {
        eprintln!(
            "  {:<5} {:>7.1}s  {}",
            if s.ok { "ok" } else { "FAIL" },
            s.seconds,
            s.name
        );
    }
}
