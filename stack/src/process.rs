//! Child processes that never outlive their owner: each runs in its own process group, and
//! dropping its handle kills the whole group (wrangler starts workerd; a test that fails
//! must not leave either behind).

use std::collections::BTreeSet;
use std::fs::File;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rand::Rng;

/// A port that was free a moment ago on 127.0.0.1, never handed out before by this process.
///
/// Picked below the kernel's ephemeral range: a port the OS picks for `bind(0)` comes from
/// that range, where every outgoing connection also takes its local port, so between this
/// call and the server's own bind a pool's new connection could take it ("address already
/// in use"; seen once in CI as a stack that did not start).
pub fn free_port() -> Result<u16> {
    static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    let below = ephemeral_range_start();
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(PoisonError::into_inner);
    if below > FIRST_PICKED_PORT + 1000 {
        for _ in 0..200 {
            let port = rand::thread_rng().gen_range(FIRST_PICKED_PORT..below);
            if !handed_out.contains(&port) && TcpListener::bind(("127.0.0.1", port)).is_ok() {
                handed_out.insert(port);
                return Ok(port);
            }
        }
    }
    // No room below the ephemeral range (or nothing free there): let the OS pick.
    let listener = TcpListener::bind("127.0.0.1:0").context("binding a free port")?;
    let port = listener.local_addr()?.port();
    handed_out.insert(port);
    Ok(port)
}

/// Ports below this are left to services a developer runs (PostgreSQL's 5432, dev stacks).
const FIRST_PICKED_PORT: u16 = 10_000;

/// The first port of the kernel's ephemeral range (Linux's default if it cannot be read).
fn ephemeral_range_start() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

/// The last `lines` lines of a log file (for failure messages; empty if it cannot be read).
pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A running child process (and its process group); killed on drop.
#[derive(Debug)]
pub struct ManagedChild {
    name: String,
    child: Child,
}

impl ManagedChild {
    /// Starts `command` in a new process group with stdout and stderr appended to `log`.
    pub fn spawn(name: &str, mut command: Command, log: &Path) -> Result<Self> {
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening log {}", log.display()))?;
        command
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .process_group(0);
        let child = command
            .spawn()
            .with_context(|| format!("starting {name} ({command:?})"))?;
        Ok(Self {
            name: name.to_string(),
            child,
        })
    }

    /// The OS process id (also the process group id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process has exited.
    pub fn has_exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Stops the process group: SIGTERM, then SIGKILL after `grace`.
    pub fn stop(&mut self, grace: Duration) {
        signal_group(self.pid(), "TERM");
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if self.has_exited() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // The leader may be gone while its children (workerd) linger: always sweep the group.
        signal_group(self.pid(), "KILL");
        let _ = self.child.wait();
    }

    /// Kills the process group at once (a crash, for fault tests).
    pub fn kill(&mut self) {
        signal_group(self.pid(), "KILL");
        let _ = self.child.wait();
    }

    /// The name given at spawn.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for ManagedChild {
    fn drop(&mut self) {
        if !self.has_exited() {
            self.stop(Duration::from_secs(5));
        } else {
            signal_group(self.pid(), "KILL");
        }
    }
}

/// Sends a signal to a whole process group (ignoring "no such process").
pub fn signal_group(pgid: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg("--")
        .arg(format!("-{pgid}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Kills process group `pgid` once process `owner` is gone (however it went: a test binary
/// killed mid-run never drops its handles), then deletes `root` if given.
pub fn reap_group_when_gone(owner: u32, pgid: u32, root: Option<&Path>) -> Result<()> {
    // `env kill`: dash's builtin kill rejects `--`, which a negative pid (a group) needs.
    let mut script = format!(
        "while kill -0 {owner} 2>/dev/null && env kill -0 -- -{pgid} 2>/dev/null; do sleep 0.5; done; \
         env kill -KILL -- -{pgid} 2>/dev/null; "
    );
    if let Some(root) = root {
        script.push_str(&format!(
            "while kill -0 {owner} 2>/dev/null; do sleep 0.5; done; rm -rf '{}'",
            root.display()
        ));
    }
    spawn_reaper_script(script)
}

/// Runs a reaper's shell `script` in a process group of its own, detached from ours, so that it
/// outlives this process (whatever kills it) and does its cleanup then.
pub(crate) fn spawn_reaper_script(script: String) -> Result<()> {
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .context("spawning a reaper")?;
    Ok(())
}

/// The processes whose parent is `pid` (read from /proc): a PostgreSQL server's backends and
/// auxiliary processes, which run in sessions of their own and so outlive a kill of its
/// process group by a moment.
pub fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|child| {
            // `pid (comm) state ppid …`: comm may hold spaces and parentheses.
            let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
            let after_comm = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
            after_comm.split_whitespace().nth(1) == Some(pid.to_string().as_str())
        })
        .collect()
}

/// Polls `url` until it answers 2xx, or fails after `timeout` naming what it waited for.
pub async fn wait_until_ok(url: &str, timeout: Duration) -> Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let deadline = Instant::now() + timeout;
    let mut last = String::from("no answer yet");
    while Instant::now() < deadline {
        match client.get(url).send().await {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) => last = format!("status {}", r.status()),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{url} did not become ready within {timeout:?} (last: {last})")
}

/// Runs a command to completion; fails with its output when it exits non-zero.
pub fn run(what: &str, command: &mut Command) -> Result<String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("{what}: could not start {command:?}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if !output.status.success() {
        bail!("{what} failed ({}):\n{text}", output.status);
    }
    Ok(text)
}
