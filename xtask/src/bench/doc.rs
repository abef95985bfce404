//! BENCHMARKS.md: the journey tables, the targets said met or missed, throughput,
//! start-up, the machine, and the command that reproduces it all.

use std::fmt::Write as _;
use std::process::Command;

use roam_shared::RegionMap;
use roam_wan::model::nearest_colo;
use roam_wan::RttModel;

use super::journey::Step;
use super::report::{ms, CityTable};
use super::{BenchArgs, Measured};

pub fn document(
    args: &BenchArgs,
    iterations: usize,
    model: &RttModel,
    measured: &Measured,
    tables: &[CityTable],
    journey: &str,
) -> String {
    let mut command = String::from("cargo xtask bench");
    if args.short {
        command.push_str(" --short");
    } else if iterations != 20 {
        let _ = write!(command, " --iterations {iterations}");
    }
    let mut doc = format!(
        "# Benchmarks\n\nMeasured on {} with `{command}` ({iterations} MovR journeys per user city \
         and topology, after one to warm up; about {} minutes). Machine: {}.\n\n",
        today(),
        if args.short { 2 } else { 6 },
        machine()
    );
    let _ = write!(
        doc,
        "## Single region vs multi-region, as users in {}\n\n{HOW}\n\n\
         ![per-step ratios](benchmarks.svg)\n\n{journey}",
        args.cities.join(", "),
    );
    doc.push_str(&targets(model, tables));
    if !measured.throughput.is_empty() {
        doc.push_str("\n## Throughput on loopback (no modelled distance)\n\n");
        doc.push_str("| what | result | command |\n|---|---|---|\n");
        for line in &measured.throughput {
            let _ = writeln!(doc, "| {} | {} | {} |", line.what, line.value, line.how);
        }
    }
    let starts: Vec<String> = measured
        .edge_start
        .iter()
        .map(|(t, d)| format!("{:.1} s ({t} stack)", d.as_secs_f64()))
        .collect();
    let _ = write!(
        doc,
        "\n## Start-up\n\n`wrangler dev` start to the first answered `/ping`, worker prebuilt \
         (wrangler bundles, then boots workerd): {}.\n",
        starts.join(", ")
    );
    let _ = write!(
        doc,
        "\n## The model\n\nRTT = max(1 ms, 2 × great-circle km × {:.2} ÷ 200 km/ms), per link; \
         `wan/README.md` gives the sources of the inflation factor and what is not modelled. \
         The proxies' timers run up to ~1 ms late per direction, never early.\n",
        model.inflation
    );
    doc
}

const HOW: &str = "How it runs: **single-region** is MovR's starting point: one PostgreSQL \
node and one origin, in us-east, holding every city, reached through the same edge with its \
cache off (the origin answers `s-maxage=0`). **multi-region** is roam: a node and an origin per \
region, rows in their city's region, the edge cache on. Every link carries its modelled RTT \
through a roam-wan proxy: user → PoP (the client's side), PoP → origin (the local edge plays \
the user's PoP), node → node (postgres_fdw). Times are wall-clock at the client. *ratio* is \
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

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**missed**"
    }
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
