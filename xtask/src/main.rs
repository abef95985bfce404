//! `cargo xtask <command>`: roam's developer commands.
//!
//! - `dev`: the whole stack on this machine (PostgreSQL node + origin per region, the edge
//!   under `wrangler dev`), until Ctrl-C.
//! - `test`: every check CI runs (format, lints, unit, property and end-to-end tests).
//! - `bootstrap`: install what is missing (both commands above run it first).

mod bench;
mod bootstrap;
mod ci_checks;
mod dev;
mod openapi;
mod test;
mod util;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "roam's developer commands")]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Subcommand)]
enum Commands {
    /// Install what is missing: wasm target, wasm-bindgen CLI, worker-build, npm packages,
    /// PostgreSQL and pg_auto_failover, Chromium, the bench's tools (oha, perf).
    Bootstrap,
    /// Bring up the whole stack and keep it running until Ctrl-C.
    Dev(dev::DevArgs),
    /// Run every test and check.
    Test(test::TestArgs),
    /// Single-region vs multi-region as users in Rome, Los Angeles and New York, with
    /// modelled distance; writes BENCHMARKS.md and benchmarks.svg.
    Bench(bench::BenchArgs),
    /// Write the OpenAPI document (edge/openapi.json) from the code.
    Openapi {
        /// Fail if the committed document is out of date instead of writing it.
        #[arg(long)]
        check: bool,
    },
}

/// Errors print as their chain of causes, without a backtrace: CI shows the end of the
/// output, and a backtrace there pushed the cause out of view.
fn main() -> ExitCode {
    let root = util::repo_root();
    let result = match Cli::parse().command {
        Commands::Bootstrap => bootstrap::run(&root, true).and_then(|()| bootstrap::bench_tools()),
        Commands::Dev(args) => dev::run(&root, &args),
        Commands::Test(args) => test::run(&root, &args),
        Commands::Bench(args) => bench::run(&root, &args),
        Commands::Openapi { check } => openapi::run(&root, check),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
