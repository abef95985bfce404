//! What the fault, hostile-input and security tests share beyond `edge_support`: a raw HTTP/1.1
//! client (reqwest normalises paths, and these tests need to send exactly the bytes they mean),
//! a signer that talks to an origin the way the edge does (or, on purpose, does not), SQL on
//! the nodes, and a well-behaved client's retry loop.

#![allow(dead_code)] // each test binary uses its own part of this module

pub(crate) mod load;

use std::collections::BTreeMap;
use std::time::Duration;

use roam_shared::signature::{self, SharedSecret, SignedParts};
use roam_stack::edge::reap_group_when_gone;
use roam_stack::stack::DATABASE;
use roam_stack::{Stack, StackOptions};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::edge_support::{Place, User};

/// How long any single raw exchange may take: a hang fails the test instead of stalling it.
pub(crate) const RAW_TIMEOUT: Duration = Duration::from_secs(20);

/// An answer read off the wire.
#[derive(Debug, Clone)]
pub(crate) struct Raw {
    /// HTTP status.
    pub status: u16,
    /// Headers, names lowercase.
    pub headers: Vec<(String, String)>,
    /// The (de-chunked) body.
    pub body: Vec<u8>,
}

impl Raw {
    /// A header's value ("" when absent).
    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The body as JSON (Null when it is not).
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The body as text.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A request as bytes: the request line exactly as given, `host`, `connection: close`,
/// `content-length` when there is a body, then `headers`.
pub(crate) fn request_bytes(
    method: &str,
    target: &[u8],
    headers: &[(String, String)],
    body: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 512);
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(target);
    out.extend_from_slice(b" HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n");
    if !body.is_empty() || method == "POST" {
        out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    for (name, value) in headers {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// Sends `request` to `base` (`http://127.0.0.1:port`) and reads the whole answer. Panics on a
/// hang (longer than [`RAW_TIMEOUT`]) or a connection dropped without an answer.
pub(crate) async fn send_raw(base: &str, request: &[u8]) -> Raw {
    let addr = base.trim_start_matches("http://").trim_end_matches('/');
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        // The server may answer (413, 431) and close before reading all of a large request.
        let _ = stream.write_all(request).await;
        // Read until the answer is complete: some servers keep the connection open a while
        // despite `connection: close`.
        let mut answer = Vec::new();
        let mut chunk = vec![0u8; 16 * 1024];
        while !is_complete(&answer) {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&chunk[..n]),
            }
        }
        Ok::<_, std::io::Error>(answer)
    };
    let bytes = tokio::time::timeout(RAW_TIMEOUT, exchange)
        .await
        .unwrap_or_else(|_| panic!("{base} did not answer within {RAW_TIMEOUT:?} (a hang)"))
        .unwrap_or_else(|e| panic!("{base}: {e}"));
    parse_answer(&bytes).unwrap_or_else(|| {
        panic!(
            "{base} closed without a parseable answer: {:?}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
        )
    })
}

/// Whether `bytes` hold a whole answer (by `content-length` or the last chunk).
fn is_complete(bytes: &[u8]) -> bool {
    let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&bytes[..end]).to_ascii_lowercase();
    let body = &bytes[end + 4..];
    if head.contains("transfer-encoding: chunked") {
        return body.ends_with(b"0\r\n\r\n");
    }
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    match length {
        Some(n) => body.len() >= n,
        // No length: a status without a body (1xx, 204, 304), else the body runs to EOF.
        None => {
            let status = head.split(' ').nth(1).unwrap_or("");
            status.starts_with('1') || status == "204" || status == "304"
        }
    }
}

fn parse_answer(bytes: &[u8]) -> Option<Raw> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&bytes[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let rest = &bytes[end + 4..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(rest)?
    } else {
        rest.to_vec()
    };
    Some(Raw {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

/// How a request to an origin is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signing {
    /// As the edge signs: now, with the shared secret.
    Valid,
    /// No signature headers at all.
    Missing,
    /// Signed with a key that is not the shared secret.
    OtherKey,
    /// A valid signature from `secs` seconds ago (a replay).
    Replayed(i64),
    /// Signed, then the body changed.
    TamperedBody,
    /// Signed, then `x-roam-city` changed.
    TamperedTag,
}

/// Talks to an origin directly, as the edge would.
#[derive(Debug, Clone)]
pub(crate) struct Signer {
    /// Origin base URL.
    pub base: String,
    /// The shared secret.
    pub secret: SharedSecret,
}

impl Signer {
    /// A signer for `base` with `secret`.
    pub(crate) fn new(base: &str, secret: &str) -> Self {
        Self {
            base: base.to_string(),
            secret: SharedSecret::parse(secret).expect("a valid secret"),
        }
    }

    /// The headers an edge would send for `place` (geo tags), plus `extra`, signed per
    /// `signing` over `method`, `target` and `body`.
    pub(crate) fn headers(
        &self,
        method: &str,
        target: &str,
        body: &[u8],
        extra: &[(String, String)],
        signing: Signing,
    ) -> Vec<(String, String)> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        let mut headers: Vec<(String, String)> = vec![
            ("x-roam-country".into(), "IT".into()),
            ("x-roam-city".into(), "Rome".into()),
            ("x-roam-colo".into(), "FCO".into()),
            ("x-roam-region".into(), "eu-west".into()),
        ];
        headers.extend(extra.iter().cloned());
        let timestamp = match signing {
            Signing::Replayed(secs) => now - secs,
            _ => now,
        };
        let secret = match signing {
            Signing::OtherKey => {
                SharedSecret::parse("an-attacker-guessed-this-secret").expect("ok")
            }
            _ => self.secret.clone(),
        };
        let parts = SignedParts {
            method,
            path_and_query: target,
            timestamp,
            body_sha256: signature::body_digest(body),
            headers: headers
                .iter()
                .filter(|(n, _)| signature::is_signed_header(n))
                .cloned()
                .collect(),
        };
        let sig = signature::sign(&secret, &parts);
        if signing == Signing::TamperedTag {
            for (name, value) in &mut headers {
                if name == "x-roam-city" {
                    *value = "Paris".into();
                }
            }
        }
        if signing != Signing::Missing {
            headers.push(("x-roam-timestamp".into(), timestamp.to_string()));
            headers.push(("x-roam-signature".into(), sig));
        }
        headers
    }

    /// Sends a request to the origin, signed per `signing`.
    pub(crate) async fn send(
        &self,
        method: &str,
        target: &str,
        body: &[u8],
        extra: &[(String, String)],
        signing: Signing,
    ) -> Raw {
        let headers = self.headers(method, target, body, extra, signing);
        let sent_body: Vec<u8> = if signing == Signing::TamperedBody {
            let mut b = body.to_vec();
            b.extend_from_slice(b" ");
            b
        } else {
            body.to_vec()
        };
        send_raw(
            &self.base,
            &request_bytes(method, target.as_bytes(), &headers, &sent_body),
        )
        .await
    }
}

/// `(name, value)` pairs from string slices.
pub(crate) fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// Runs `sql` on `region`'s node (its primary now, for a region under pg_auto_failover) and
/// returns psql's unaligned output lines.
pub(crate) async fn sql(stack: &Stack, region: &str, sql: &str) -> Vec<String> {
    let url = stack
        .primary_url(region, DATABASE)
        .await
        .unwrap_or_else(|e| panic!("no primary for {region}: {e:#}"));
    let out = roam_stack::pg::psql(&url, sql.to_string())
        .await
        .unwrap_or_else(|e| panic!("on {region}: {sql}: {e:#}"));
    out.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The local partition of `table` on `region`'s node (e.g. `vehicles_eu_west`).
pub(crate) fn partition(table: &str, region: &str) -> String {
    format!("{table}_{}", region.replace('-', "_"))
}

/// Vehicles on `region`'s node whose `last_location` starts with `prefix`: location → ids.
/// Only the node's own partition is read, so a row counts where it is stored.
pub(crate) async fn vehicles_by_marker(
    stack: &Stack,
    region: &str,
    prefix: &str,
) -> BTreeMap<String, Vec<String>> {
    let table = partition("vehicles", region);
    let rows = sql(
        stack,
        region,
        &format!(
            "SELECT last_location || '|' || id FROM \"{table}\" WHERE last_location LIKE '{prefix}%'"
        ),
    )
    .await;
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in rows {
        if let Some((marker, id)) = row.split_once('|') {
            out.entry(marker.to_string())
                .or_default()
                .push(id.to_string());
        }
    }
    out
}

/// Signs up and logs in a fresh user at `place` through the edge at `base`.
pub(crate) async fn signed_in(base: &str, place: Place, who: &str, password: &str) -> User {
    let mut user = User::new(base, place);
    let email = crate::edge_support::email(who);
    user.post(
        "/api/v1/users",
        &serde_json::json!({"email": email, "name": who, "password": password}),
    )
    .await
    .expect(201);
    let session = user
        .post(
            "/api/v1/sessions",
            &serde_json::json!({"email": email, "password": password}),
        )
        .await
        .expect(200);
    user.token = session.body["token"].as_str().map(str::to_string);
    assert!(user.token.is_some(), "no token in {session:#?}");
    user
}

/// `retry-after` in seconds, if the answer carries a valid one.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// The `p`-th percentile (0–100) of `values` (which it sorts), in the values' unit.
pub(crate) fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * (values.len() - 1) as f64).round() as usize;
    values[rank.min(values.len() - 1)]
}

/// Starts a stack like `edge_support::start_stack`, with extra environment for every origin.
pub(crate) async fn start_stack_with(name: &str, origin_env: &[(&str, &str)]) -> Stack {
    let mut options = StackOptions::for_tests(name);
    options.origin_env.extend(pairs(origin_env));
    let stack = match Stack::start(options).await {
        Ok(stack) => stack,
        Err(e) => panic!("could not start the stack: {e:#}"),
    };
    for pgid in stack.origins.iter().filter_map(|o| o.pid()) {
        reap_group_when_gone(std::process::id(), pgid, None).expect("an origin reaper");
    }
    stack
}

/// Writes checked against the database.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ledger {
    /// Writes that got a 2xx.
    pub acknowledged: usize,
    /// Acknowledged writes whose row is missing.
    pub lost: usize,
    /// Writes (acknowledged or not) with more than one row.
    pub doubled: usize,
    /// Acknowledged writes whose row has another id than the answer said.
    pub mismatched: usize,
    /// Writes never acknowledged (the client gave up).
    pub abandoned: usize,
    /// Of those, how many did take effect (once) anyway.
    pub abandoned_applied: usize,
}

/// Checks every write of a load against the rows on its home node (local partition only).
pub(crate) async fn audit(stack: &Stack, run: &str, writes: &[load::Write]) -> Ledger {
    let mut rows = BTreeMap::new();
    let mut regions: Vec<&str> = writes.iter().map(|w| w.region).collect();
    regions.sort_unstable();
    regions.dedup();
    for region in regions {
        rows.extend(vehicles_by_marker(stack, region, run).await);
    }
    let mut ledger = Ledger::default();
    for write in writes {
        let found = rows.get(&write.key).map_or(&[][..], Vec::as_slice);
        if found.len() > 1 {
            ledger.doubled += 1;
        }
        match &write.acked {
            Some(id) => {
                ledger.acknowledged += 1;
                if found.is_empty() {
                    ledger.lost += 1;
                } else if !found.contains(id) {
                    ledger.mismatched += 1;
                }
            }
            None => {
                ledger.abandoned += 1;
                ledger.abandoned_applied += usize::from(!found.is_empty());
            }
        }
    }
    ledger
}
