//! `cargo xtask dev`: the whole stack on this machine until Ctrl-C.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use roam_stack::{Stack, StackOptions};

use crate::bootstrap;
use crate::util::cmd;

/// Options of `cargo xtask dev`.
#[derive(clap::Args)]
pub struct DevArgs {
    /// Wipe the databases first (fresh schema and sample data).
    #[arg(long)]
    pub fresh: bool,
    /// First PostgreSQL port (one per region, consecutive).
    #[arg(long, default_value_t = 5501)]
    pub pg_port: u16,
    /// First origin port (one per region, consecutive).
    #[arg(long, default_value_t = 8101)]
    pub origin_port: u16,
    /// The edge's port (wrangler dev).
    #[arg(long, default_value_t = 8787)]
    pub edge_port: u16,
    /// Vehicles seeded per city.
    #[arg(long, default_value_t = 50)]
    pub vehicles_per_city: u32,
}

/// Brings the stack up, prints where everything runs, waits for Ctrl-C, takes it down.
pub fn run(root: &Path, args: &DevArgs) -> Result<()> {
    bootstrap::run(root, false)?;
    cmd(Command::new("cargo")
        .args(["build", "-p", "roam-origin"])
        .current_dir(root))?;
    let regions = roam_shared::RegionMap::builtin().regions.len() as u16;
    let ports = |first: u16| (0..regions).map(|i| first + i).collect::<Vec<_>>();
    let options = StackOptions {
        root: root.join(".roam/dev"),
        pg_ports: Some(ports(args.pg_port)),
        origin_ports: Some(ports(args.origin_port)),
        seed: Some((args.vehicles_per_city, 5)),
        fresh: args.fresh,
        reap_on_exit: false,
        ..StackOptions::for_tests("dev")
    };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let stack = Stack::start(options).await.context("starting the stack")?;
        print_table(&stack);
        eprintln!("\nroam is up. Ctrl-C stops everything.");
        tokio::signal::ctrl_c().await?;
        eprintln!("\nstopping…");
        drop(stack);
        Ok(())
    })
}

fn print_table(stack: &Stack) {
    println!("\npart     region     url                          data / log");
    for node in &stack.cluster.nodes {
        println!(
            "{:<8} {:<10} {:<28} {} / {}",
            "postgres",
            node.region,
            format!("127.0.0.1:{}", node.port),
            node.data_dir.display(),
            node.log_file.display()
        );
    }
    for origin in &stack.origins {
        println!(
            "{:<8} {:<10} {:<28} {}",
            "origin",
            origin.options.region,
            origin.url(),
            origin.options.log_file.display()
        );
    }
}
