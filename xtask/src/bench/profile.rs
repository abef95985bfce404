//! `cargo xtask bench --only profile`: where an origin's primary-key read spends its CPU.
//!
//! Builds the origin with symbols (release, not stripped, line tables; its own target folder
//! so the normal build stays as it is), starts the multi-region stack with it, loads the read
//! with wrk while `perf record` samples the us-east origin (DWARF call graphs: release Rust
//! has no frame pointers), and writes a flame graph (inferno) and the heaviest frames and
//! subsystems to test-output/bench.

use std::fmt::Write as _;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use inferno::collapse::Collapse;
use roam_stack::front::{cf_blob, find_place, CF_BLOB};
use roam_stack::Stack;
use serde_json::Value;

use crate::util::cmd;

/// Parts of the request path, by substrings of their frames: the share of samples whose
/// stack passes through one (inclusive: their callees, syscalls and allocations count).
const SUBTREES: [(&str, &[&str]); 7] = [
    (
        "logging: spans and events (tracing)",
        &["tracing_subscriber", "tracing_core", "tracing::span"],
    ),
    (
        "the signature check (http/signature.rs, HMAC-SHA256)",
        &["roam_origin::http::signature", "roam_shared::signature"],
    ),
    (
        "metrics, the trace scope and the observe middleware (http/middleware.rs, telemetry/)",
        &[
            "roam_origin::http::middleware::observe",
            "roam_origin::telemetry",
            "metrics",
        ],
    ),
    (
        "the handler's query (sqlx, the PostgreSQL protocol)",
        &["sqlx"],
    ),
    ("JSON (serde_json)", &["serde_json"]),
    (
        "HTTP parsing and writing (hyper's h1 role)",
        &["hyper::proto::h1::role", "hyper::proto::h1::io"],
    ),
    (
        "allocation (malloc, free)",
        &["malloc", "cfree", "_int_free", "realloc"],
    ),
];

/// Where self time lands, by the leaf frame's crate (or the kernel, or libc).
const OWNERS: [(&str, &[&str]); 10] = [
    ("the kernel (syscalls, TCP, scheduling)", &["_[k]"]),
    (
        "libc (malloc, free, memcpy)",
        &[
            "@GLIBC",
            "malloc",
            "_int_free",
            "memmove",
            "memcpy",
            "memset",
        ],
    ),
    ("tokio", &["tokio::"]),
    ("hyper", &["hyper::"]),
    ("sqlx", &["sqlx"]),
    ("tracing", &["tracing"]),
    ("axum, tower, http", &["axum", "tower", "http::"]),
    ("serde_json", &["serde_json"]),
    ("roam-origin and roam-shared", &["roam_"]),
    ("metrics", &["metrics"]),
];

/// Builds the origin with symbols; returns the binary.
pub(super) fn build_origin(root: &Path) -> Result<PathBuf> {
    let target = root.join("target/profile");
    cmd(Command::new("cargo")
        .args(["build", "--release", "-p", "roam-origin"])
        .current_dir(root)
        .env("CARGO_TARGET_DIR", &target)
        .env("CARGO_PROFILE_RELEASE_STRIP", "false")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "line-tables-only"))?;
    Ok(target.join("release/roam-origin"))
}

/// Profiles the us-east origin under wrk; writes `origin-pk-read.svg` and returns the report.
pub(super) async fn origin(stack: &Stack, edge: &str, out: &Path) -> Result<String> {
    let origin = stack.origin("us-east").context("no us-east origin")?;
    let pid = origin.pid().context("the us-east origin is not running")?;
    let place = find_place(roam_shared::RegionMap::builtin(), "new-york").context("new-york")?;
    let listed: Value = reqwest::Client::new()
        .get(format!("{edge}/api/v1/cities/new-york/vehicles"))
        .header(CF_BLOB, cf_blob(&place, ""))
        .send()
        .await?
        .json()
        .await?;
    let vehicle = listed["vehicles"][0]["id"].as_str().context("no vehicle")?;
    let path = format!("/api/v1/cities/new-york/vehicles/{vehicle}");
    let signed = super::origin_read::signed_get(&stack.options.secret, &path)?;
    let data = out.join("origin.perf.data");
    std::fs::create_dir_all(out)?;
    let mut perf = Command::new("perf")
        .args(["record", "-F", "997", "--call-graph", "dwarf,16384", "-p"])
        .arg(pid.to_string())
        .arg("-o")
        .arg(&data)
        .args(["--", "sleep", "6"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("running perf record (Debian: apt-get install linux-perf)")?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (rate, _) = super::compare::wrk(&format!("{}{path}", origin.url()), &signed)?;
    if !perf.wait()?.success() {
        bail!("perf record failed");
    }
    let script = Command::new("perf")
        .args(["script", "--no-inline", "-i"])
        .arg(&data)
        .stderr(Stdio::null())
        .output()
        .context("running perf script")?;
    let mut folded = Vec::new();
    let mut options = inferno::collapse::perf::Options::default();
    options.annotate_kernel = true;
    inferno::collapse::perf::Folder::from(options)
        .collapse(BufReader::new(script.stdout.as_slice()), &mut folded)?;
    let folded = String::from_utf8_lossy(&folded).into_owned();
    std::fs::write(out.join("origin-pk-read.folded"), &folded)?;
    let svg = std::fs::File::create(out.join("origin-pk-read.svg"))?;
    let mut options = inferno::flamegraph::Options::default();
    options.title = format!("roam-origin, primary-key read under wrk ({rate:.0} req/s)");
    inferno::flamegraph::from_lines(&mut options, folded.lines(), svg)?;
    let _ = std::fs::remove_file(&data);
    Ok(report(&folded, rate))
}

/// Each part's inclusive share, self time by owner, and the heaviest frames.
fn report(folded: &str, rate: f64) -> String {
    let stacks: Vec<(&str, u64)> = folded
        .lines()
        .filter_map(|l| {
            let (stack, count) = l.rsplit_once(' ')?;
            Some((stack, count.parse().ok()?))
        })
        .collect();
    let total: u64 = stacks.iter().map(|(_, n)| n).sum::<u64>().max(1);
    let mut out = format!(
        "roam-origin under wrk ({rate:.0} req/s), sampled by perf at 997 Hz; flame graph \
         `test-output/bench/origin-pk-read.svg` (`cargo xtask bench --only profile`).\n\n\
         | part of the request path (inclusive) | share of CPU |\n|---|---|\n"
    );
    inclusive_shares(&mut out, &stacks, total);
    self_time_shares(&mut out, &stacks, total);
    heaviest_frames(&mut out, &stacks, total);
    out
}

/// `n` samples as a percentage of `total`.
fn share(n: u64, total: u64) -> f64 {
    100.0 * n as f64 / total as f64
}

/// A folded stack's innermost frame.
fn leaf(stack: &str) -> String {
    stack.rsplit(';').next().unwrap_or(stack).to_string()
}

/// A row per part of the request path: the samples with any of its frames on the stack.
fn inclusive_shares(out: &mut String, stacks: &[(&str, u64)], total: u64) {
    for (what, patterns) in SUBTREES {
        let n: u64 = stacks
            .iter()
            .filter(|(s, _)| patterns.iter().any(|p| s.contains(p)))
            .map(|(_, n)| n)
            .sum();
        let _ = writeln!(out, "| {what} | {:.1}% |", share(n, total));
    }
}

/// A row per owner of the innermost frame, and the rest as `elsewhere`.
fn self_time_shares(out: &mut String, stacks: &[(&str, u64)], total: u64) {
    out.push_str("\n| self time in | share of CPU |\n|---|---|\n");
    let mut owned = 0;
    for (what, patterns) in OWNERS {
        let n: u64 = stacks
            .iter()
            .filter(|(s, _)| {
                let leaf = leaf(s);
                patterns.iter().any(|p| leaf.contains(p))
            })
            .map(|(_, n)| n)
            .sum();
        owned += n;
        let _ = writeln!(out, "| {what} | {:.1}% |", share(n, total));
    }
    let _ = writeln!(
        out,
        "| elsewhere | {:.1}% |",
        share(total.saturating_sub(owned), total)
    );
}

/// The twelve innermost frames with the most samples (names cut to 100 characters).
fn heaviest_frames(out: &mut String, stacks: &[(&str, u64)], total: u64) {
    let mut leaves: std::collections::BTreeMap<String, u64> = Default::default();
    for (stack, n) in stacks {
        *leaves.entry(leaf(stack)).or_default() += n;
    }
    let mut leaves: Vec<(String, u64)> = leaves.into_iter().collect();
    leaves.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    out.push_str("\n| heaviest frames (self) | share of CPU |\n|---|---|\n");
    for (leaf, n) in leaves.iter().take(12) {
        let name: String = leaf.chars().take(100).collect();
        let _ = writeln!(
            out,
            "| `{}` | {:.1}% |",
            name.replace('|', "\\|"),
            share(*n, total)
        );
    }
}
