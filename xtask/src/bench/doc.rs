//! BENCHMARKS.md: the journey tables, the targets said met or missed, throughput,
//! start-up, the machine, and the command that reproduces it all.
//! (Long because most of it is the document's fixed prose, kept beside the code that fills it.)

use std::fmt::Write as _;
use std::process::Command;

use roam_shared::RegionMap;
use roam_wan::model::nearest_colo;
use roam_wan::RttModel;

use super::journey::{Sample, Step};
use super::notes;
use super::report::{met, ms, CityTable, Row};
use super::{BenchArgs, Measured};

pub(super) fn document(
    args: &BenchArgs,
    iterations: usize,
    model: &RttModel,
    measured: &Measured,
    tables: &[CityTable],
    journey: &str,
) -> String {
    let mut doc = intro(args, iterations);
    let _ = write!(
        doc,
        "## Single region vs multi-region, as users in {}\n\n{HOW}\n\n\
         ![per-step ratios](benchmarks.svg)\n\n{journey}",
        args.cities.join(", "),
    );
    doc.push_str(&targets(model, tables));
    doc.push_str(&super::cross_region::targets(model, tables, measured));
    doc.push_str(&why(measured, tables));
    doc.push_str(&mechanism_section(measured));
    doc.push_str(&throughput_section(measured));
    doc.push_str(&profile_section(measured));
    doc.push_str(&load_section(measured));
    doc.push_str(&start_up_section(measured));
    doc.push_str(&model_section(model));
    doc
}

/// The title and when, how and on what it was measured.
fn intro(args: &BenchArgs, iterations: usize) -> String {
    let mut command = String::from("cargo xtask bench");
    if args.short {
        command.push_str(" --short");
    } else if iterations != 20 {
        let _ = write!(command, " --iterations {iterations}");
    }
    format!(
        "# Benchmarks\n\nMeasured on {} with `{command}` ({iterations} MovR journeys per user city \
         and topology, after {} to warm up; about {} minutes). Machine: {}.\n\n",
        today(),
        super::warm_ups(args),
        if args.short { 2 } else { 7 },
        machine()
    )
}

/// postgres_fdw against straight to the node (empty when not measured).
fn mechanism_section(measured: &Measured) -> String {
    let mut doc = String::new();
    if !measured.mechanism.is_empty() {
        doc.push_str(
            "\n## One cross-region statement: postgres_fdw or straight to the node\n\n\
             Over the same modelled links, from eu-west (why the origin keeps a pool per region; \
             warm connections, median of 20):\n\n| what | result |\n|---|---|\n",
        );
        for l in &measured.mechanism {
            let _ = writeln!(doc, "| {} | {} |", l.what, l.value);
        }
    }
    doc
}

/// Loopback throughput in both runtimes (empty when not measured).
fn throughput_section(measured: &Measured) -> String {
    let mut doc = String::new();
    if !measured.throughput.is_empty() {
        doc.push_str("\n## Throughput on loopback (no modelled distance)\n\n");
        doc.push_str(notes::THROUGHPUT_HOW);
        doc.push_str(
            "\n\n| what | plain workerd | wrangler dev | target | command |\n|---|---|---|---|---|\n",
        );
        for l in &measured.throughput {
            let dev = if l.dev.is_empty() { "–" } else { &l.dev };
            let _ = writeln!(
                doc,
                "| {} | {} | {dev} | {} | {} |",
                l.what, l.value, l.target, l.how
            );
        }
    }
    doc
}

/// The origin's profile (empty when not measured).
fn profile_section(measured: &Measured) -> String {
    if measured.profile.is_empty() {
        return String::new();
    }
    format!(
        "\n## Profile of the origin's primary-key read\n\n{}",
        measured.profile
    )
}

/// Latency under rising load: how, the chart and the tables (empty when not measured).
fn load_section(measured: &Measured) -> String {
    if measured.load.is_empty() {
        return String::new();
    }
    format!(
        "\n## Latency under rising load\n\n{}\n\n![latency against offered load](load.svg)\n\n{}",
        notes::LOAD_HOW,
        super::load_chart::markdown(&measured.load)
    )
}

/// Edge start to its first answer, per topology and runtime.
fn start_up_section(measured: &Measured) -> String {
    let starts: Vec<String> = measured
        .edge_start
        .iter()
        .map(|(t, d)| format!("{:.1} s ({t})", d.as_secs_f64()))
        .collect();
    format!(
        "\n## Start-up\n\nEdge start to the first answered `/ping`, worker prebuilt (plain \
         workerd: spawn, load, answer; wrangler dev: wrangler bundles, then boots workerd): {}.\n",
        starts.join(", ")
    )
}

/// The RTT model the links carry.
fn model_section(model: &RttModel) -> String {
    format!(
        "\n## The model\n\nRTT = max(1 ms, 2 × great-circle km × {:.2} ÷ 200 km/ms), per link; \
         `wan/README.md` gives the sources of the inflation factor and what is not modelled. \
         The proxies release bytes within ~0.5 ms of their due time, never early.\n",
        model.inflation
    )
}

const HOW: &str = "How it runs: **single-region** is MovR's starting point: one PostgreSQL \
node and one origin, in us-east, holding every city, reached through the same edge with its \
cache off (the origin answers `s-maxage=0`). **multi-region** is roam: a node and an origin per \
region, rows in their city's region, the edge cache on. Every link carries its modelled RTT \
through a roam-wan proxy: user → PoP (the client's side), PoP → origin (the local edge plays \
the user's PoP), node → node (postgres_fdw). Both stacks run side by side and the journeys \
alternate between them, one of each in turn, so that this shared machine's drifting load falls \
on both alike. Times are wall-clock at the client. *ratio* is \
single p50 ÷ multi p50 (above 1: multi-region is faster). The *fibre floor* is one round trip \
of light in fibre along the path the step took, with no inflation: no deployment beats it. \
*multi served* is the edge's `x-roam-cache` verdict. Access networks (Wi-Fi, mobile) are not \
modelled; they would add the same to both sides.";

/// The targets for a user in Rome, each said met or missed.
fn targets(model: &RttModel, tables: &[CityTable]) -> String {
    let Some(rome) = tables.iter().find(|t| t.city == "rome") else {
        return String::new();
    };
    let map = RegionMap::builtin();
    let pop_rtt = map
        .city("rome")
        .zip(map.region_coordinates("eu-west"))
        .map(|(c, eu)| {
            let at = roam_shared::Coordinates::new(c.lat, c.lon);
            model.rtt(nearest_colo(at).at, eu)
        })
        .unwrap_or_default();
    let row = |step| rome.rows.iter().find(|r| r.step == step);
    let mut out = String::from("\n## Targets for a user in Rome\n\n");
    if let Some(r) = row(Step::ListVehiclesAgain) {
        let _ = writeln!(
            out,
            "- Cached read ≥ 30× faster than single-region at p50: {:.1}× ({}).",
            r.ratio(),
            met(r.ratio() >= 30.0)
        );
    }
    for step in [Step::AddVehicle, Step::StartRide, Step::EndRide] {
        let Some(r) = row(step) else { continue };
        let _ = write!(
            out,
            "- {}: {:.1}× faster at p50 (≥ 4×: {})",
            step.label(),
            r.ratio(),
            met(r.ratio() >= 4.0)
        );
        if let Some(origin) = r.origin_multi {
            let service = origin.saturating_sub(pop_rtt);
            let bound = pop_rtt + service;
            let within = ms(r.multi.p50) / ms(bound).max(0.001);
            let _ = write!(
                out,
                "; {:.1} ms = {within:.2}× (PoP → eu-west {:.1} ms + origin service {:.1} ms) \
                 (≤ 1.3×: {})",
                ms(r.multi.p50),
                ms(pop_rtt),
                ms(service),
                met(within <= 1.3)
            );
        }
        out.push_str(".\n");
    }
    out.push_str(
        "\nThe origin service time is the edge's `server-timing` origin duration (p50) less the \
         modelled PoP → eu-west RTT.\n",
    );
    out
}

/// The closing note: where the time goes on the paths whose targets are missed.
fn why(measured: &Measured, tables: &[CityTable]) -> String {
    let Some(rome) = tables.iter().find(|t| t.city == "rome") else {
        return String::new();
    };
    let key = ("multi-region".to_string(), "rome".to_string());
    let samples = measured.samples.get(&key).cloned().unwrap_or_default();
    let user_pop = ms(rome.user_to_pop);
    let row = |step| rome.rows.iter().find(|r| r.step == step);
    let slowest_write = [Step::AddVehicle, Step::StartRide, Step::EndRide]
        .into_iter()
        .filter_map(row)
        .max_by(|a, b| a.multi.p50.cmp(&b.multi.p50));
    let (Some(hit), Some(rides), Some(write)) = (
        row(Step::ListVehiclesAgain),
        row(Step::ListRides),
        slowest_write,
    ) else {
        return String::new();
    };
    let dev_samples = measured.dev_samples.get(&key);
    let mut out = String::from("\n## Why, where a target is missed\n\n");
    out.push_str(&why_cached_reads(&samples, dev_samples, hit, user_pop));
    out.push_str(&why_writes(&samples, write, user_pop));
    out.push_str(&why_cross_region(rides));
    out.push_str(notes::AT_HOME_NEXT_TO_THE_SINGLE_REGION);
    out.push_str(notes::EDGE_PROFILE);
    out.push_str(notes::ORIGIN_PROFILE);
    out.push_str(
        "- **Throughput** was measured on a 2-core machine shared with other work: it moves by \
         tens of percent between runs; ratios measured back to back move less.\n",
    );
    out
}

/// The median of the edge's own time (`server-timing` `edge`) over the samples `keep` picks;
/// NaN without any.
fn edge_p50(samples: &[Sample], keep: impl Fn(&Sample) -> bool) -> f64 {
    let mut v: Vec<f64> = samples
        .iter()
        .filter(|s| keep(s))
        .filter_map(|s| s.edge_ms)
        .collect();
    v.sort_by(f64::total_cmp);
    v.get(v.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or(f64::NAN)
}

/// Where a cache hit's time goes, in plain workerd and under `wrangler dev`.
fn why_cached_reads(
    samples: &[Sample],
    dev_samples: Option<&Vec<Sample>>,
    hit: &Row,
    user_pop: f64,
) -> String {
    let hit_edge = edge_p50(samples, |s| s.cache == "hit");
    let dev_hit = dev_samples
        .map(|v| {
            let took: Vec<f64> = v
                .iter()
                .filter(|s| s.step == Step::ListVehiclesAgain)
                .map(|s| s.took.as_secs_f64() * 1000.0)
                .collect();
            super::compare::median(&took)
        })
        .unwrap_or(f64::NAN);
    format!(
        "- **Cached reads.** With the edge in plain workerd a hit takes {:.1} ms at the client: \
         {user_pop:.1} ms on the user → PoP link, {hit_edge:.1} ms that the worker reports as \
         its own (a Worker's clock only advances at I/O, so this undercounts its CPU time) and \
         {:.1} ms outside its clock: workerd's HTTP handling, the cache service's lookup and \
         the client, all on this shared 2-core machine. Under `wrangler dev` the same hit took \
         {dev_hit:.1} ms (its proxy worker in front, its local Cache API). The single-region \
         read takes {:.1} ms, so 30× needs a hit within {:.1} ms.\n",
        ms(hit.multi.p50),
        (ms(hit.multi.p50) - user_pop - hit_edge).max(0.0),
        ms(hit.single.p50),
        ms(hit.single.p50) / 30.0,
    )
}

/// Where the slowest write's time goes, and what the targets would need.
fn why_writes(samples: &[Sample], write: &Row, user_pop: f64) -> String {
    let origin = ms(write.origin_multi.unwrap_or_default());
    let write_edge = edge_p50(samples, |s| s.step == write.step);
    let (multi, single) = (ms(write.multi.p50), ms(write.single.p50));
    let cut = |bound: f64| {
        if multi <= bound {
            "met".to_string()
        } else {
            format!("{:.1} ms less fixed cost per request", multi - bound)
        }
    };
    format!(
        "- **Writes.** The slowest, {}, takes {multi:.1} ms: {user_pop:.1} ms to the PoP, \
         {origin:.1} ms waiting on the eu-west origin (17.4 ms of it the modelled round trip, \
         the rest its service time), {write_edge:.1} ms in the worker by its own clock and \
         {:.1} ms outside it. Single-region pays the same fixed costs on top of a 108 ms round \
         trip ({single:.1} ms), so the ratio is (RTT + fixed) ÷ (RTT + fixed). 4× needs \
         {:.1} ms ({}); 1.3 × (PoP → eu-west RTT + origin service) is {:.1} ms ({}). What is \
         left to cut is the local edge's fixed cost, not distance.\n",
        write.step.label(),
        (multi - user_pop - origin - write_edge).max(0.0),
        single / 4.0,
        cut(single / 4.0),
        1.3 * origin,
        cut(1.3 * origin),
    )
}

/// Why sign-up, log-in and list rides reach other regions only where the data is.
fn why_cross_region(rides: &Row) -> String {
    format!(
        "- **Sign-up, log-in and list rides** reach another region only where the data is \
         there, with one statement straight to that region's node (the origin keeps a pool per \
         region: the table further down measures one such statement against postgres_fdw over \
         the same link). Log-in finds a user of this region locally and asks nobody else; list \
         rides asks the rider's home and only the regions they rode in ({:.0} ms against \
         {:.0} ms single-region for a user in Rome). A sign-up waits for one round trip to the \
         node that holds its email's claim, while the password hashes. Physics: a globally \
         unique claim must reach its arbiter, so by the triangle inequality a sign-up can beat \
         single-region only when the claim's node is nearer than the single region; the \
         targets above judge it against one extra round trip, per claim region.\n",
        ms(rides.multi.p50),
        ms(rides.single.p50),
    )
}

fn today() -> String {
    let out = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output();
    out.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            let (_, v) = l.strip_prefix("model name")?.split_once(':')?;
            Some(v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kib = meminfo.lines().find_map(|l| {
        let v = l.strip_prefix("MemTotal:")?.trim().trim_end_matches("kB");
        v.trim().parse::<f64>().ok()
    });
    let gib = kib.map_or(0.0, |k| k / 1024.0 / 1024.0);
    format!("{cores} cores ({model}), {gib:.1} GiB memory, Linux, everything on loopback")
}
