//! `cargo xtask bench`: single-region vs multi-region, as users in Rome, Los Angeles and New
//! York, on one machine with modelled distance (roam-wan proxies on every link).
//!
//! For each topology it starts the stack with `--wan` and the edge under `wrangler dev`; for
//! each user city it moves the edge to that city's PoP (the edge → origin links take the
//! PoP's RTTs), puts a user → PoP link in front of the edge, runs the MovR journey once to
//! warm up and then N times, timing every step at the client. The report goes to
//! `BENCHMARKS.md` and `benchmarks.svg` (with `--short`: under `test-output/bench/`, after a
//! check that the tables are well-formed; never a timing threshold).
//! (Long because it holds the bench's options and its order of parts, which the parts' modules
//! do not repeat.)

mod baselines;
mod coldstart;
mod compare;
mod cross_region;
mod doc;
mod edges;
mod journey;
mod line;
mod load;
mod load_chart;
mod load_curves;
mod noise;
mod notes;
mod origin_read;
mod profile;
mod report;
mod runs;
mod tables;
mod throughput;
mod tracing_overhead;
mod writes;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};
use roam_stack::edge::build_edge;
use roam_stack::{Stack, StackOptions, Topology, WanOptions};
use roam_wan::model::DEFAULT_INFLATION;
use roam_wan::RttModel;

use crate::bootstrap;
use crate::util::cmd;
use edges::{Edge, Runtime};
use journey::Sample;

/// Options of `cargo xtask bench`.
#[derive(clap::Args)]
pub(crate) struct BenchArgs {
    /// Two journeys per city, debug build, report under test-output/bench/, and a check that
    /// the tables are well-formed (what the test command runs).
    #[arg(long)]
    pub short: bool,
    /// Journeys per user city and topology (after `warm_up` untimed ones).
    #[arg(long, default_value_t = 20)]
    pub iterations: usize,
    /// Untimed journeys per user city and topology first. Each origin's pool connection
    /// prepares a statement on its first use and plans it anew for its first five; the
    /// single-region origin has already served the other cities' journeys by New York's
    /// turn, the multi-region us-east origin has not, so one journey left New York's
    /// multi-region steps paying for a cold origin (`--short`: 1).
    #[arg(long, default_value_t = 10)]
    pub warm_up: usize,
    /// The same with the edge under `wrangler dev` (the dev tool's column).
    #[arg(long, default_value_t = 5)]
    pub dev_iterations: usize,
    /// The users' cities (slugs of the region map).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "rome,los-angeles,new-york"
    )]
    pub cities: Vec<String>,
    /// Path inflation over great-circle fibre latency (see wan/README.md).
    #[arg(long, default_value_t = DEFAULT_INFLATION)]
    pub inflation: f64,
    /// Folder for BENCHMARKS.md and benchmarks.svg (default: the repository root; with
    /// --short or --only, test-output/bench).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run one part only (multi-region stack; the report goes to test-output/bench).
    #[arg(long, value_enum)]
    pub only: Option<Part>,
}

/// The parts of the bench `--only` can pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Part {
    /// The MovR journeys, both topologies, both runtimes.
    Journeys,
    /// Loopback throughput: edge vs JavaScript in both runtimes, origin vs pgbench, writes.
    Throughput,
    /// Latency under rising load (open loop): edge reads vs JavaScript, origin vs pgbench -R,
    /// writes.
    Load,
    /// Where the origin's primary-key read spends its CPU: perf and a flame graph (only when
    /// asked for: it builds the origin with symbols first).
    Profile,
}

impl BenchArgs {
    fn runs(&self, part: Part) -> bool {
        match part {
            Part::Profile => self.only == Some(Part::Profile),
            _ => self.only.is_none_or(|only| only == part),
        }
    }
}

/// Untimed journeys per city and topology before the timed ones.
pub(crate) fn warm_ups(args: &BenchArgs) -> usize {
    if args.short {
        1
    } else {
        args.warm_up.max(1)
    }
}

/// Both topologies, in the order they run.
fn topologies() -> [Topology; 2] {
    [Topology::single_region(), Topology::MultiRegion]
}

pub(crate) fn run(root: &Path, args: &BenchArgs) -> Result<()> {
    bootstrap::run(root, false)?;
    if !args.short && (args.runs(Part::Load) || args.runs(Part::Profile)) {
        bootstrap::bench_tools()?;
    }
    let origin_binary = if args.runs(Part::Profile) {
        profile::build_origin(root)?
    } else {
        let mut build = Command::new("cargo");
        build.args(["build", "-p", "roam-origin"]).current_dir(root);
        if !args.short {
            build.arg("--release");
        }
        cmd(&mut build)?;
        let profile = if args.short { "debug" } else { "release" };
        let target =
            std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
        target.join(profile).join("roam-origin")
    };
    let iterations = if args.short {
        2
    } else {
        args.iterations.max(1)
    };
    let out = match (&args.out, args.short || args.only.is_some()) {
        (Some(dir), _) => dir.clone(),
        (None, true) => root.join("test-output/bench"),
        (None, false) => root.to_path_buf(),
    };
    let model = RttModel {
        inflation: args.inflation,
        ..RttModel::default()
    };
    let runtime = tokio::runtime::Runtime::new()?;
    let measured = runtime.block_on(measure(args, &origin_binary, iterations, &model))?;
    let tables = tables::tabulate(&measured, &args.cities, &model)?;
    let dev_tables = tables::tabulate(&measured.under_wrangler_dev(), &args.cities, &model)?;
    let journey = report::journey_markdown(&tables, &dev_tables);
    println!("\n{journey}");
    std::fs::create_dir_all(&out)?;
    let markdown = doc::document(args, iterations, &model, &measured, &tables, &journey);
    std::fs::write(out.join("BENCHMARKS.md"), &markdown)?;
    std::fs::write(out.join("benchmarks.svg"), report::ratio_svg(&tables))?;
    if !measured.load.is_empty() {
        std::fs::write(out.join("load.svg"), load_chart::svg(&measured.load))?;
    }
    for line in measured.throughput.iter().filter(|l| !l.target.is_empty()) {
        println!(
            "target: {} — {}; {}: {}",
            line.target, line.what, line.value, line.how
        );
    }
    println!("wrote {}", out.join("BENCHMARKS.md").display());
    if args.short {
        report::check_tables(&markdown, args.cities.len())?;
        println!("bench --short: {} well-formed tables", args.cities.len());
    }
    Ok(())
}

/// What one bench run measured.
#[derive(Default)]
pub(crate) struct Measured {
    /// (topology name, city) → samples, the edge in plain workerd.
    pub samples: BTreeMap<(String, String), Vec<Sample>>,
    /// The same with the edge under `wrangler dev` (fewer journeys: the dev tool's column).
    pub dev_samples: BTreeMap<(String, String), Vec<Sample>>,
    /// Edge start to first answered `/ping`, per topology and runtime.
    pub edge_start: Vec<(String, Duration)>,
    /// Loopback throughput and bundle size (not in `--short`).
    pub throughput: Vec<line::Line>,
    /// Latency under rising load (not in `--short`).
    pub load: Vec<load::Curve>,
    /// The origin's profile (`--only profile`).
    pub profile: String,
    /// Topology name → Rome's users logging in from New York (the edge in plain workerd).
    pub travellers: BTreeMap<String, Vec<cross_region::Travel>>,
    /// One cross-region statement through postgres_fdw and straight to the node (not in
    /// `--short`).
    pub mechanism: Vec<line::Line>,
}

impl Measured {
    /// The journeys measured with the edge under `wrangler dev`, in place of the others.
    fn under_wrangler_dev(&self) -> Measured {
        Measured {
            samples: self.dev_samples.clone(),
            ..Measured::default()
        }
    }
}

async fn measure(
    args: &BenchArgs,
    origin_binary: &Path,
    iterations: usize,
    model: &RttModel,
) -> Result<Measured> {
    let mut measured = Measured::default();
    tokio::task::spawn_blocking(build_edge).await??;
    let run_tag = std::process::id();
    // Both topologies run side by side and the journeys alternate between them: this shared
    // machine's load drifts over minutes, and a baseline measured first, then the design,
    // would put that drift into the ratio.
    let mut running = Vec::new();
    for topology in topologies() {
        if !args.runs(Part::Journeys) && topology != Topology::MultiRegion {
            continue;
        }
        let name = topology.name();
        eprintln!("bench: starting the {name} stack");
        let stack = start_stack(args, &topology, origin_binary, model).await?;
        let mut edges = Vec::new();
        for runtime in Runtime::ALL {
            let tag = format!("{run_tag}-{}", runtime.label().replace(' ', "-"));
            let (edge, took) = Edge::start(&stack, runtime, &tag).await?;
            measured
                .edge_start
                .push((format!("{name}, {}", runtime.label()), took));
            edges.push((runtime, edge));
        }
        running.push(runs::Deployment { stack, edges });
    }
    if args.runs(Part::Journeys) {
        let journeys = (iterations, run_tag.to_string());
        runs::journeys(args, &mut running, &journeys, model, &mut measured).await?;
        for deployment in &mut running {
            runs::travellers(args, deployment, model, &mut measured).await?;
        }
    }
    // The loopback parts measure one stack alone: the baseline stops first.
    running.retain(|d| d.stack.options.topology == Topology::MultiRegion);
    if let Some(multi) = running.first() {
        loopback(args, &multi.stack, &multi.edges, &mut measured).await?;
    }
    Ok(measured)
}

/// A stack of `topology` with modelled distance: test stacks' origin settings (they lift the
/// per-user hourly vehicle limit the bench's writers would meet), and for the single-region
/// baseline no edge cache.
async fn start_stack(
    args: &BenchArgs,
    topology: &Topology,
    origin_binary: &Path,
    model: &RttModel,
) -> Result<Stack> {
    let name = topology.name();
    let base = StackOptions::for_tests(&format!("bench-{}", name.replace(':', "-")));
    let mut origin_env = base.origin_env.clone();
    if *topology != Topology::MultiRegion {
        // The baseline has no edge cache: every read goes to the one region, as in MovR.
        for var in ["ROAM_CACHE_S_MAXAGE", "ROAM_CACHE_SWR", "ROAM_CACHE_SIE"] {
            origin_env.push((var.to_string(), "0".to_string()));
        }
    }
    if args.short {
        // Debug builds hash slowly; the short mode checks shape, not speed.
        origin_env.push(("ROAM_ARGON2_MEMORY_KIB".into(), "1024".into()));
    }
    let options = StackOptions {
        origin_binary: origin_binary.to_path_buf(),
        seed: Some((20, 3)),
        topology: topology.clone(),
        wan: Some(WanOptions {
            model: *model,
            pop: None,
        }),
        origin_env,
        ..base
    };
    Stack::start(options)
        .await
        .with_context(|| format!("starting the {name} stack"))
}

/// The multi-region stack's other parts, as `--short` and `--only` pick them: one
/// cross-region statement both ways, throughput on loopback (with what OpenTelemetry export
/// costs an origin), the origin's profile, latency under rising load.
async fn loopback(
    args: &BenchArgs,
    stack: &Stack,
    edges: &[(Runtime, Edge)],
    measured: &mut Measured,
) -> Result<()> {
    if !args.short && args.runs(Part::Journeys) {
        eprintln!("bench: one cross-region statement, through postgres_fdw and direct");
        measured.mechanism = cross_region::mechanism(stack).await?;
    }
    let throughput = !args.short && args.runs(Part::Throughput);
    if let (true, [(_, workerd), (_, dev)]) = (throughput, edges) {
        eprintln!("bench: throughput on loopback");
        measured.throughput = throughput::measure(stack, [workerd, dev]).await?;
        eprintln!("bench: what OpenTelemetry export costs an origin");
        let tracing = tracing_overhead::measure(stack, &workerd.url()).await?;
        measured.throughput.extend(tracing);
    }
    if let (true, Some((_, workerd))) = (args.runs(Part::Profile), edges.first()) {
        eprintln!("bench: profiling the origin's primary-key read");
        let out = roam_stack::edge::workspace_root().join("test-output/bench");
        measured.profile = profile::origin(stack, &workerd.url(), &out).await?;
        eprintln!("{}", measured.profile);
    }
    let load = !args.short && args.runs(Part::Load);
    if let (true, Some((_, workerd))) = (load, edges.first()) {
        eprintln!("bench: latency under rising load");
        measured.load = load_curves::measure(stack, workerd).await?;
    }
    Ok(())
}
