//! `cargo xtask bench`: single-region vs multi-region, as users in Rome, Los Angeles and New
//! York, on one machine with modelled distance (roam-wan proxies on every link).
//!
//! For each topology it starts the stack with `--wan` and the edge under `wrangler dev`; for
//! each user city it moves the edge to that city's PoP (the edge → origin links take the
//! PoP's RTTs), puts a user → PoP link in front of the edge, runs the MovR journey once to
//! warm up and then N times, timing every step at the client. The report goes to
//! `BENCHMARKS.md` and `benchmarks.svg` (with `--short`: under `test-output/bench/`, after a
//! check that the tables are well-formed; never a timing threshold).

mod cross_region;
mod doc;
mod journey;
mod js_worker;
mod report;
mod throughput;
mod tracing_overhead;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use roam_shared::email_claim::{claim_region, ClaimKey};
use roam_shared::geo::Coordinates;
use roam_shared::RegionMap;
use roam_stack::edge::{build_edge, start_edge, EdgeOptions};
use roam_stack::front::find_place;
use roam_stack::{Stack, StackOptions, Topology, WanOptions};
use roam_wan::model::{nearest_colo, Colo, DEFAULT_INFLATION};
use roam_wan::{Link, RttModel};

use crate::bootstrap;
use crate::util::cmd;
use journey::{Sample, Step, User};
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
    /// --short, test-output/bench).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Both topologies, in the order they run.
fn topologies() -> [Topology; 2] {
    [Topology::single_region(), Topology::MultiRegion]
}

pub fn run(root: &Path, args: &BenchArgs) -> Result<()> {
    bootstrap::run(root, false)?;
    let mut build = Command::new("cargo");
    build.args(["build", "-p", "roam-origin"]).current_dir(root);
    if !args.short {
        build.arg("--release");
    }
    cmd(&mut build)?;
    let profile = if args.short { "debug" } else { "release" };
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let origin_binary = target.join(profile).join("roam-origin");
    let iterations = if args.short {
        2
    } else {
        args.iterations.max(1)
    };
    let out = match (&args.out, args.short) {
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
    let journey = report::journey_markdown(&tables);
    println!("\n{journey}");
    std::fs::create_dir_all(&out)?;
    let markdown = doc::document(args, iterations, &model, &measured, &tables, &journey);
    std::fs::write(out.join("BENCHMARKS.md"), &markdown)?;
    std::fs::write(out.join("benchmarks.svg"), report::ratio_svg(&tables))?;
    println!("wrote {}", out.join("BENCHMARKS.md").display());
    if args.short {
        report::check_tables(&markdown, args.cities.len())?;
        println!("bench --short: {} well-formed tables", args.cities.len());
    }
    Ok(())
}

/// What one bench run measured.
pub struct Measured {
    /// (topology name, city) → samples.
    pub samples: BTreeMap<(String, String), Vec<Sample>>,
    /// `wrangler dev` start to first answered `/ping`, per topology.
    pub edge_start: Vec<(String, Duration)>,
    /// Loopback throughput and bundle size (not in `--short`).
    pub throughput: Vec<throughput::Line>,
    /// Topology name → Rome's users logging in from New York.
    pub travellers: BTreeMap<String, Vec<cross_region::Travel>>,
    /// One cross-region statement through postgres_fdw and straight to the node (not in
    /// `--short`).
    pub mechanism: Vec<throughput::Line>,
}

async fn measure(
    args: &BenchArgs,
    origin_binary: &Path,
    iterations: usize,
    model: &RttModel,
) -> Result<Measured> {
    let map = RegionMap::builtin();
    let mut measured = Measured {
        samples: BTreeMap::new(),
        edge_start: Vec::new(),
        throughput: Vec::new(),
        travellers: BTreeMap::new(),
        mechanism: Vec::new(),
    };
    tokio::task::spawn_blocking(build_edge).await??;
    let run_tag = std::process::id();
    for topology in topologies() {
        let name = topology.name();
        eprintln!("bench: starting the {name} stack");
        let mut origin_env = StackOptions::for_tests("bench").origin_env;
        if topology != Topology::MultiRegion {
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
            ..StackOptions::for_tests(&format!("bench-{}", name.replace(':', "-")))
        };
        let mut stack = Stack::start(options)
            .await
            .with_context(|| format!("starting the {name} stack"))?;
        let started = Instant::now();
        let edge_options = EdgeOptions::new(
            &format!("bench-{run_tag}"),
            stack.origin_urls(),
            &stack.options.secret,
        );
        let edge = start_edge(edge_options)
            .await
            .context("starting the edge")?;
        measured.edge_start.push((name.clone(), started.elapsed()));
        let edge_addr = std::net::SocketAddr::from(([127, 0, 0, 1], edge.port()));
        for city in &args.cities {
            let place = find_place(map, city).with_context(|| format!("unknown city {city}"))?;
            let colo = nearest_colo(place.at);
            if let Some(wan) = stack.wan.as_mut() {
                wan.set_pop(colo.code)?;
            }
            let user_link = Link::new(edge_addr)
                .rtt(model.rtt(place.at, colo.at))
                .start()
                .await?;
            let user = User::new(format!("http://{}", user_link.addr()), place)?;
            eprintln!(
                "bench: {name}, a user in {city} (PoP {}): {iterations} journeys",
                colo.code
            );
            user.journey(&format!("{run_tag}-{name}-{city}-warmup").replace(':', "-"))
                .await
                .with_context(|| format!("edge log:\n{}", edge.log_tail(20)))?;
            let mut samples = Vec::new();
            for i in 0..iterations {
                let tag = format!("{run_tag}-{name}-{city}-{i}").replace(':', "-");
                samples.extend(journey_with_retry(&user, &tag).await?);
            }
            measured
                .samples
                .insert((name.clone(), city.clone()), samples);
            user_link.stop().await;
        }
        let rome = measured.samples.get(&(name.clone(), "rome".to_string()));
        let emails: Vec<String> = rome
            .into_iter()
            .flatten()
            .filter(|s| s.step == Step::SignUp)
            .map(|s| s.email.clone())
            .collect();
        if args.cities.iter().any(|c| c == "new-york") && !emails.is_empty() {
            eprintln!("bench: {name}, users of Rome logging in from New York");
            let travels = cross_region::travellers(&mut stack, edge_addr, model, &emails).await?;
            measured.travellers.insert(name.clone(), travels);
        }
        if topology == Topology::MultiRegion && !args.short {
            eprintln!("bench: one cross-region statement, through postgres_fdw and direct");
            measured.mechanism = cross_region::mechanism(&stack).await?;
            eprintln!("bench: throughput on loopback");
            measured.throughput = throughput::measure(&stack, &edge).await?;
            eprintln!("bench: what OpenTelemetry export costs an origin");
            let tracing = tracing_overhead::measure(&stack, &edge.url()).await?;
            measured.throughput.extend(tracing);
        }
        drop(edge);
        drop(stack);
    }
    Ok(measured)
}

/// One journey; a failed one is discarded and run again (twice at most) with a fresh user.
/// `wrangler dev` reloads the worker when `build/` changes under it (another build in the
/// same tree), and a reload answers requests in flight with 503.
async fn journey_with_retry(user: &User, tag: &str) -> Result<Vec<Sample>> {
    let mut attempt = 0;
    loop {
        match user.journey(&format!("{tag}-{attempt}")).await {
            Ok(samples) => return Ok(samples),
            Err(e) if attempt < 2 => eprintln!("bench: journey {tag} failed, again: {e:#}"),
            Err(e) => return Err(e),
        }
        attempt += 1;
    }
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
