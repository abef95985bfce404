//! An origin's primary-key read (one vehicle, a signed GET straight to the us-east origin)
//! against `pgbench -S` on the same node at the same concurrency.

use std::process::Command;

use anyhow::{bail, Context, Result};
use roam_shared::signature::{self, SharedSecret, SignedParts};
use roam_stack::Stack;
use serde_json::Value;

use super::compare::{self, WRK};
use super::edges::Edge;
use super::line::Line;
use super::report::met;

/// The path of one seeded New York vehicle, found through the edge (as a user presenting
/// `blob`, an `MF-CF-Blob` header line, if given).
pub(super) async fn seeded_vehicle_path(
    client: &reqwest::Client,
    edge_url: &str,
    blob: Option<&str>,
) -> Result<String> {
    let list = format!("{edge_url}/api/v1/cities/new-york/vehicles?status=available");
    let mut request = client.get(&list);
    if let Some(line) = blob {
        let (name, value) = line.split_once(": ").context("a header line")?;
        request = request.header(name, value);
    }
    let listed: Value = request.send().await?.json().await?;
    let vehicle = listed["vehicles"][0]["id"]
        .as_str()
        .context("no seeded vehicle in new-york")?;
    Ok(format!("/api/v1/cities/new-york/vehicles/{vehicle}"))
}

/// An origin's primary-key read (signed GET straight to it) against `pgbench -S`.
pub(super) async fn lines(
    stack: &Stack,
    client: &reqwest::Client,
    edge: &Edge,
    blob: &str,
) -> Result<Vec<Line>> {
    let origin = stack.origin("us-east").context("no us-east origin")?;
    let path = seeded_vehicle_path(client, &edge.url(), Some(blob)).await?;
    let signed = signed_get(&stack.options.secret, &path)?;
    let (pk, _) = compare::wrk(&format!("{}{path}", origin.url()), &signed)?;
    let node = stack.cluster.node("us-east").context("no us-east node")?;
    let pgbench = pgbench(node.port)?;
    Ok(vec![
        Line {
            what:
                "origin primary-key read (one vehicle, signed GET straight to the us-east origin)"
                    .into(),
            value: format!("{pk:.0} req/s"),
            how: format!("`{WRK} -H <signature headers> <origin>{path}`"),
            ..Line::default()
        },
        Line {
            what: "`pgbench -S` on the same node".into(),
            value: format!(
                "{pgbench:.0} tps (origin ÷ pgbench = {:.0}%)",
                100.0 * pk / pgbench.max(1.0)
            ),
            how: format!(
                "`pgbench -i -s 1 pgbench && pgbench -S -c 16 -j 2 -T 5 pgbench` on port {}",
                node.port
            ),
            target: format!("origin ≥ 50% of pgbench: {}", met(pk >= 0.5 * pgbench)),
            ..Line::default()
        },
    ])
}

/// Headers of a GET signed as the edge signs it (valid for the signature window, 30 s).
pub(super) fn signed_get(secret: &str, path: &str) -> Result<Vec<String>> {
    let secret = SharedSecret::parse(secret).map_err(anyhow::Error::msg)?;
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    let tags = vec![("x-roam-region".to_string(), "us-east".to_string())];
    let parts = SignedParts {
        method: "GET",
        path_and_query: path,
        timestamp,
        body_sha256: signature::body_digest(b""),
        headers: tags.clone(),
    };
    let mut headers: Vec<String> = tags.iter().map(|(n, v)| format!("{n}: {v}")).collect();
    headers.push(format!("x-roam-timestamp: {timestamp}"));
    headers.push(format!(
        "x-roam-signature: {}",
        signature::sign(&secret, &parts)
    ));
    Ok(headers)
}

/// Creates and fills the `pgbench` database on the node at `port` (`pgbench -i -s 1`).
pub(super) fn pgbench_init(port: u16) -> Result<()> {
    let port = port.to_string();
    let base = ["-h", "127.0.0.1", "-p", port.as_str(), "-U", "postgres"];
    let _ = Command::new("createdb").args(base).arg("pgbench").output();
    let init = Command::new("pgbench")
        .args(base)
        .args(["-i", "-q", "-s", "1", "pgbench"])
        .output()?;
    if !init.status.success() {
        bail!("pgbench -i: {}", String::from_utf8_lossy(&init.stderr));
    }
    Ok(())
}

pub(super) fn pgbench(port: u16) -> Result<f64> {
    pgbench_init(port)?;
    let port = port.to_string();
    let base = ["-h", "127.0.0.1", "-p", port.as_str(), "-U", "postgres"];
    let run = Command::new("pgbench")
        .args(base)
        .args(["-S", "-c", "16", "-j", "2", "-T", "5", "pgbench"])
        .output()?;
    let text = String::from_utf8_lossy(&run.stdout);
    text.lines()
        .find_map(|l| {
            l.strip_prefix("tps = ")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .with_context(|| format!("pgbench printed no tps:\n{text}"))
}
