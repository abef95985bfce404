//! Side-by-side throughput with wrk: several targets measured in alternating rounds (this
//! 2-core machine is shared and noisy: alternating spreads a slow spell over all of them, and
//! medians drop the outliers), with the CPU time workerd spent per request when it runs alone
//! (a steadier figure than req/s on a loaded machine).

use std::process::Command;

use anyhow::{bail, Context, Result};

/// wrk's settings, as printed in the commands that reproduce a figure.
pub(super) const WRK: &str = "wrk -t2 -c16 -d5s";

/// One thing to load.
pub(super) struct Target {
    pub url: String,
    /// `name: value` lines.
    pub headers: Vec<String>,
    /// workerd's process id, for CPU per request.
    pub pid: Option<u32>,
}

/// What the rounds measured for one target.
#[derive(Debug, Clone, Default)]
pub(super) struct Measured {
    /// Median requests per second over the rounds.
    pub per_second: f64,
    /// Every round's requests per second.
    pub rounds: Vec<f64>,
    /// Median CPU time of workerd per request, µs.
    pub cpu_us: Option<f64>,
}

/// Runs `rounds` rounds, each loading every target once in turn.
pub(super) fn alternate(targets: &[Target], rounds: usize) -> Result<Vec<Measured>> {
    let mut per_second = vec![Vec::new(); targets.len()];
    let mut cpu = vec![Vec::new(); targets.len()];
    for _ in 0..rounds.max(1) {
        for (i, target) in targets.iter().enumerate() {
            let before = target.pid.and_then(cpu_seconds);
            let (rate, requests) = wrk(&target.url, &target.headers)?;
            let after = target.pid.and_then(cpu_seconds);
            per_second[i].push(rate);
            if let (Some(before), Some(after)) = (before, after) {
                cpu[i].push(1e6 * (after - before) / requests.max(1) as f64);
            }
        }
    }
    Ok(per_second
        .into_iter()
        .zip(cpu)
        .map(|(rounds, cpu)| Measured {
            per_second: median(&rounds),
            rounds,
            cpu_us: (!cpu.is_empty()).then(|| median(&cpu)),
        })
        .collect())
}

/// The median (the upper one of an even count).
pub(super) fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Requests per second and requests made, by one wrk run.
pub(super) fn wrk(url: &str, headers: &[String]) -> Result<(f64, u64)> {
    let mut command = Command::new("wrk");
    command.args(["-t2", "-c16", "-d5s"]);
    for header in headers {
        command.args(["-H", header]);
    }
    let output = command.arg(url).output().context("running wrk")?;
    let text = String::from_utf8_lossy(&output.stdout);
    if text.contains("Non-2xx") {
        bail!("wrk {url}: some answers were not 2xx:\n{text}");
    }
    let rate = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:")?.trim().parse().ok())
        .with_context(|| format!("wrk {url}: no Requests/sec in\n{text}"))?;
    let requests = text
        .lines()
        .find_map(|l| l.trim().split_once(" requests in")?.0.parse().ok())
        .with_context(|| format!("wrk {url}: no request count in\n{text}"))?;
    Ok((rate, requests))
}

/// User + system CPU time of a process so far, in seconds.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / clock_ticks_per_second())
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn medians_take_the_middle_round() {
        assert_eq!(super::median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(super::median(&[4.0, 1.0]), 4.0);
        assert!(super::median(&[]).is_nan());
    }
}
