//! `roam-origin [serve]`, `roam-origin migrate`, `roam-origin seed`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use roam_origin::config::{claim_keys, load_map, parse_peer, Environment, ServeArgs};
use roam_origin::schema::links::Peer;
use roam_origin::schema::seed;
use roam_origin::schema::topology;
use roam_origin::storage::pool;
use roam_origin::{telemetry, Application, Config};
use roam_shared::email_claim::ClaimKeys;
use roam_shared::RegionMap;

/// With no subcommand it serves, configured from the environment only: top-level serve
/// flags would be "present" whenever e.g. `DATABASE_URL` is set, and then demand the rest
/// of them from `migrate` and `seed` too.
#[derive(Parser)]
#[command(name = "roam-origin", about = "roam's regional origin service")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve(Box<ServeArgs>),
    /// Run the migrations and generate this node's partitions and FDW servers from the map.
    Migrate {
        #[command(flatten)]
        node: NodeArgs,
        /// Another region's node, as REGION=postgres://… (once per other region).
        #[arg(long = "peer", value_parser = parse_peer)]
        peers: Vec<(String, String)>,
    },
    /// After every node is migrated (a new version, a region added, a claim key rotated):
    /// hash plaintext claims, move claims to the nodes that own them now, claim this node's
    /// users under every key in force. Exits 1 when it finds an email claimed for two users.
    #[command(alias = "rehome-claims")]
    ReconcileClaims {
        #[command(flatten)]
        node: NodeArgs,
        #[command(flatten)]
        keys: ClaimKeyArgs,
    },
    /// Fill this node's cities with sample users and vehicles (idempotent).
    Seed {
        #[command(flatten)]
        node: NodeArgs,
        /// Vehicles per city.
        #[arg(long, default_value_t = 100)]
        vehicles_per_city: u32,
        /// Users per city.
        #[arg(long, default_value_t = 20)]
        users_per_city: u32,
        #[command(flatten)]
        keys: ClaimKeyArgs,
    },
}

/// The claim keys (`serve` takes the same variables).
#[derive(clap::Args)]
struct ClaimKeyArgs {
    /// The claim key, <id>:<secret> (the development key when unset).
    #[arg(long, env = "ROAM_CLAIM_KEY", hide_env_values = true)]
    claim_key: Option<String>,
    /// The previous claim key during a rotation.
    #[arg(long, env = "ROAM_CLAIM_KEY_PREVIOUS", hide_env_values = true)]
    claim_key_previous: Option<String>,
}

impl ClaimKeyArgs {
    fn keys(&self) -> anyhow::Result<ClaimKeys> {
        claim_keys(
            self.claim_key.as_deref(),
            self.claim_key_previous.as_deref(),
            Environment::Development,
        )
    }
}

#[derive(clap::Args)]
struct NodeArgs {
    /// This node's database.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// This node's region.
    #[arg(long, env = "ROAM_REGION")]
    region: String,
    /// A regions.json to use instead of the built-in map.
    #[arg(long, env = "ROAM_REGION_MAP")]
    region_map: Option<PathBuf>,
}

impl NodeArgs {
    fn open(&self) -> anyhow::Result<(sqlx::PgPool, RegionMap)> {
        let map = match &self.region_map {
            Some(path) => load_map(path)?,
            None => RegionMap::builtin().clone(),
        };
        anyhow::ensure!(
            map.region(&self.region).is_some(),
            "ROAM_REGION `{}` is not in the region map",
            self.region
        );
        Ok((
            pool::pool(&self.database_url, 4, Duration::from_secs(10))?,
            map,
        ))
    }
}

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    telemetry::init_tracing(runtime.handle().clone());
    let result = runtime.block_on(run(command()));
    // The spans of the last requests, still in the exporter's buffer.
    telemetry::export::flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The chain of causes on one line, without a backtrace: these are configuration
            // and connection problems for an operator, not bugs.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The subcommand; without one, `serve` configured from the environment.
fn command() -> Command {
    if let Some(command) = Cli::parse().command {
        return command;
    }
    let missing: Vec<&str> = ["ROAM_REGION", "DATABASE_URL"]
        .into_iter()
        .filter(|name| std::env::var_os(name).is_none())
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "error: {} not set (or run `roam-origin serve --help` for flags)",
            missing.join(" and ")
        );
        std::process::exit(2);
    }
    // Parses `serve` from the environment; clap exits with its own message if that fails.
    Cli::parse_from(["roam-origin", "serve"])
        .command
        .unwrap_or_else(|| std::process::exit(2))
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => {
            let config = Config::from_args(*args)?;
            tracing::info!(region = %config.region, env = ?config.env, "starting origin");
            Application::build(config).await?.run_until_stopped().await
        }
        Command::Migrate { node, peers } => {
            let (pool, map) = node.open()?;
            let mut parsed = BTreeMap::new();
            for (region, url) in peers {
                let peer = Peer::from_url(&url).with_context(|| format!("--peer {region}"))?;
                parsed.insert(region, peer);
            }
            topology::migrate(&pool, &map, &node.region, &parsed).await?;
            println!("migrated the {} node", node.region);
            Ok(())
        }
        Command::Seed {
            node,
            vehicles_per_city,
            users_per_city,
            keys,
        } => {
            let (pool, map) = node.open()?;
            let keys = keys.keys()?;
            let hash = roam_origin::password::Hasher::unbounded_wait(19_456)
                .hash(seed::SEED_PASSWORD.into())
                .await?;
            let seeded = seed::seed(
                &pool,
                &map,
                &node.region,
                users_per_city,
                vehicles_per_city,
                &hash,
                &keys,
            )
            .await?;
            println!(
                "seeded {}: {} new users, {} new vehicles",
                node.region, seeded.users, seeded.vehicles
            );
            Ok(())
        }
        Command::ReconcileClaims { node, keys } => reconcile_claims(&node, &keys).await,
    }
}

async fn reconcile_claims(node: &NodeArgs, keys: &ClaimKeyArgs) -> anyhow::Result<()> {
    let (pool, map) = node.open()?;
    let report =
        roam_origin::schema::reconcile::reconcile_claims(&pool, &map, &node.region, &keys.keys()?)
            .await?;
    println!(
        "{} node: {} claims hashed, {} moved away, {} made, {} retired",
        node.region, report.hashed, report.moved, report.made, report.retired
    );
    for conflict in &report.conflicts {
        println!("conflict: {conflict}");
    }
    anyhow::ensure!(
        report.conflicts.is_empty(),
        "{} emails are claimed for two users (kept; see above)",
        report.conflicts.len()
    );
    Ok(())
}
