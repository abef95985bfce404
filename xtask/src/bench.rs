//! `cargo xtask bench`: single-region vs multi-region, as users in Rome, Los Angeles and New
//! York, on one machine with modelled distance (roam-wan proxies on every link).
//!
//! For each topology it starts the stack with `--wan` and the edge under `wrangler dev`; for
//! each user city it moves the edge to that city's PoP (the edge → origin links take the
//! PoP's RTTs), puts a user → PoP link in front of the edge, runs the MovR journey once to
//! warm up and then N times, timing every step at the client. The report goes to
//! `BENCHMARKS.md` and `benchmarks.svg` (with `--short`: under `test-output/bench/`, after a
//! check that the tables are well-formed; never a timing threshold).

mod baselines;
mod coldstart;
mod compare;
mod cross_region;
mod doc;
mod edges;
mod journey;
mod load;
mod load_chart;
mod load_curves;
mod notes;
mod origin_read;
mod profile;
mod report;
mod runs;
mod throughput;
mod writes;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};
use roam_shared::email_claim::{claim_region, ClaimKey};
use roam_shared::geo::Coordinates;
use roam_shared::RegionMap;
use roam_stack::edge::build_edge;
use roam_stack::front::find_place;
use roam_stack::{Stack, StackOptions, Topology, WanOptions};
use roam_wan::model::{nearest_colo, Colo, DEFAULT_INFLATION};
use roam_wan::RttModel;

use crate::bootstrap;
use crate::util::cmd;
use edges::{Edge, Runtime};
use journey::{Sample, Step};
use report::{CityTable, Row, Summary};

/// Options of `cargo xtask bench`.
#[derive(clap::Args)]
pub struct BenchArgs {
    /// Two journeys per city, debug build, report under test-output/bench/, and a check that
    /// the tables are well-formed (what the test command runs).
    #[arg(long)]
    pub short: bool,
    /// Journeys per user city and topology (after one to warm up).
    #[arg(long, default_value_t = 20)]
    pub iterations: usize,
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
pub enum Part {
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

/// Both topologies, in the order they run.
fn topologies() -> [Topology; 2] {
    [Topology::single_region(), Topology::MultiRegion]
}

pub fn run(root: &Path, args: &BenchArgs) -> Result<()> {
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
    let tables = tabulate(&measured, &args.cities, &model)?;
    let dev_tables = tabulate(&measured.under_wrangler_dev(), &args.cities, &model)?;
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
pub struct Measured {
    /// (topology name, city) → samples, the edge in plain workerd.
    pub samples: BTreeMap<(String, String), Vec<Sample>>,
    /// The same with the edge under `wrangler dev` (fewer journeys: the dev tool's column).
    pub dev_samples: BTreeMap<(String, String), Vec<Sample>>,
    /// Edge start to first answered `/ping`, per topology and runtime.
    pub edge_start: Vec<(String, Duration)>,
    /// Loopback throughput and bundle size (not in `--short`).
    pub throughput: Vec<throughput::Line>,
    /// Latency under rising load (not in `--short`).
    pub load: Vec<load::Curve>,
    /// The origin's profile (`--only profile`).
    pub profile: String,
    /// Topology name → Rome's users logging in from New York (the edge in plain workerd).
    pub travellers: BTreeMap<String, Vec<cross_region::Travel>>,
    /// One cross-region statement through postgres_fdw and straight to the node (not in
    /// `--short`).
    pub mechanism: Vec<throughput::Line>,
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
    for topology in topologies() {
        if !args.runs(Part::Journeys) && topology != Topology::MultiRegion {
            continue;
        }
        let name = topology.name();
        eprintln!("bench: starting the {name} stack");
        let mut stack = start_stack(args, &topology, origin_binary, model).await?;
        let mut edges = Vec::new();
        for runtime in Runtime::ALL {
            let tag = format!("{run_tag}-{}", runtime.label().replace(' ', "-"));
            let (edge, took) = Edge::start(&stack, runtime, &tag).await?;
            measured
                .edge_start
                .push((format!("{name}, {}", runtime.label()), took));
            edges.push((runtime, edge));
        }
        if args.runs(Part::Journeys) {
            let tag = format!("{run_tag}-{}", &name[..1]);
            let journeys = (iterations, tag.as_str());
            city_journeys(args, &mut stack, &edges, journeys, model, &mut measured).await?;
            travellers(args, &mut stack, &edges, model, &mut measured).await?;
        }
        if topology == Topology::MultiRegion {
            loopback(args, &stack, &edges, &mut measured).await?;
        }
        drop(edges);
        drop(stack);
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

/// The MovR journeys as users in every city, against the edge in each runtime
/// (`iterations` in plain workerd, fewer under wrangler dev); `tag` makes emails unique.
async fn city_journeys(
    args: &BenchArgs,
    stack: &mut Stack,
    edges: &[(Runtime, Edge)],
    (iterations, tag): (usize, &str),
    model: &RttModel,
    measured: &mut Measured,
) -> Result<()> {
    let name = stack.options.topology.name();
    let dev_iterations = if args.short {
        1
    } else {
        args.dev_iterations.max(1)
    };
    for city in &args.cities {
        for (runtime, edge) in edges {
            let n = match runtime {
                Runtime::Workerd => iterations,
                Runtime::WranglerDev => dev_iterations,
            };
            // Short: the tag goes into an email's local part (64 characters at most).
            let tag = format!("{tag}-{}", &runtime.label()[..1]);
            let label = format!("{name}, edge in {}", runtime.label());
            let samples = runs::city_journeys(stack, edge, city, n, model, (&label, &tag)).await?;
            let key = (name.clone(), city.clone());
            match runtime {
                Runtime::Workerd => measured.samples.insert(key, samples),
                Runtime::WranglerDev => measured.dev_samples.insert(key, samples),
            };
        }
    }
    Ok(())
}

/// Rome's users (those the journeys signed up) logging in from New York, through the edge in
/// plain workerd.
async fn travellers(
    args: &BenchArgs,
    stack: &mut Stack,
    edges: &[(Runtime, Edge)],
    model: &RttModel,
    measured: &mut Measured,
) -> Result<()> {
    let name = stack.options.topology.name();
    let emails: Vec<String> = measured
        .samples
        .get(&(name.clone(), "rome".to_string()))
        .into_iter()
        .flatten()
        .filter(|s| s.step == Step::SignUp)
        .map(|s| s.email.clone())
        .collect();
    let workerd = edges.iter().find(|(r, _)| *r == Runtime::Workerd);
    let (true, false, Some((_, edge))) = (
        args.cities.iter().any(|c| c == "new-york"),
        emails.is_empty(),
        workerd,
    ) else {
        return Ok(());
    };
    eprintln!("bench: {name}, users of Rome logging in from New York");
    let edge_addr = std::net::SocketAddr::from(([127, 0, 0, 1], edge.port()));
    let travels = cross_region::travellers(stack, edge_addr, model, &emails).await?;
    measured.travellers.insert(name, travels);
    Ok(())
}

/// The multi-region stack's other parts, as `--short` and `--only` pick them: one
/// cross-region statement both ways, throughput on loopback, the origin's profile, latency
/// under rising load.
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

fn tabulate(measured: &Measured, cities: &[String], model: &RttModel) -> Result<Vec<CityTable>> {
    let map = RegionMap::builtin();
    let [single, multi] = topologies();
    let mut tables = Vec::new();
    for city in cities {
        let place = find_place(map, city).with_context(|| format!("unknown city {city}"))?;
        let colo = nearest_colo(place.at);
        let get = |t: &Topology| {
            measured
                .samples
                .get(&(t.name(), city.clone()))
                .cloned()
                .unwrap_or_default()
        };
        let (s, m) = (get(&single), get(&multi));
        let mut rows = Vec::new();
        for step in Step::ALL {
            let of = |samples: &[Sample]| -> Vec<Sample> {
                samples.iter().filter(|x| x.step == step).cloned().collect()
            };
            let (ss, ms) = (of(&s), of(&m));
            let took = |v: &[Sample]| v.iter().map(|x| x.took).collect::<Vec<_>>();
            let (Some(single_sum), Some(multi_sum)) =
                (Summary::of(&took(&ss)), Summary::of(&took(&ms)))
            else {
                continue;
            };
            let floors = |v: &[Sample], t: &Topology| {
                let all: Vec<Duration> = v
                    .iter()
                    .map(|x| floor(map, t, city, place.at, colo, x))
                    .collect();
                Summary::of(&all).map(|f| f.p50).unwrap_or_default()
            };
            rows.push(Row {
                step,
                single: single_sum,
                multi: multi_sum,
                floor_single: floors(&ss, &single),
                floor_multi: floors(&ms, &multi),
                served_multi: verdicts(&ms),
                origin_multi: {
                    let origin: Vec<Duration> = ms
                        .iter()
                        .filter_map(|x| x.origin_ms)
                        .map(|v| Duration::from_secs_f64(v / 1000.0))
                        .collect();
                    Summary::of(&origin).map(|s| s.p50)
                },
            });
        }
        tables.push(CityTable {
            city: city.clone(),
            colo: colo.code.to_string(),
            user_to_pop: model.rtt(place.at, colo.at),
            rows,
        });
    }
    Ok(tables)
}

/// `hit ×19, miss ×1`: the edge's cache verdicts.
fn verdicts(samples: &[Sample]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for s in samples {
        *counts.entry(s.cache.as_str()).or_default() += 1;
    }
    let mut counts: Vec<_> = counts.into_iter().collect();
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    counts
        .iter()
        .map(|(v, n)| format!("{v} ×{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Light in fibre along the path a step took: user → PoP, then (unless the edge answered from
/// its cache) PoP → serving region, plus the farthest other node the step had to reach.
fn floor(
    map: &RegionMap,
    topology: &Topology,
    city: &str,
    user: Coordinates,
    colo: &Colo,
    sample: &Sample,
) -> Duration {
    let fibre = RttModel::fibre_rtt;
    let at = |region: &str| map.region_coordinates(region).unwrap_or(colo.at);
    let user_pop = fibre(user, colo.at);
    if matches!(sample.cache.as_str(), "hit" | "stale") {
        return user_pop;
    }
    let home = match topology {
        Topology::SingleRegion(only) => return user_pop + fibre(colo.at, at(only)),
        Topology::MultiRegion => map
            .city(city)
            .map(|c| c.region.as_str())
            .unwrap_or(&map.default_region),
    };
    let base = user_pop + fibre(colo.at, at(home));
    let farthest = |regions: &mut dyn Iterator<Item = &str>| {
        regions
            .map(|r| fibre(at(home), at(r)))
            .max()
            .unwrap_or_default()
    };
    // Log-in finds a user at home locally, and the journey's rides are all at home: only a
    // sign-up must reach another node, the one holding the email's claim.
    match sample.step {
        Step::SignUp => {
            base + farthest(&mut std::iter::once(
                claim_region(map, &ClaimKey::development().hash(&sample.email))
                    .name
                    .as_str(),
            ))
        }
        _ => base,
    }
}
