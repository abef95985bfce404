//! What a group's pg_auto_failover monitor knows: each node's reported and assigned state,
//! its health, and the events of the group's state machine (for a failure's message).

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::pg::psql;

/// One data node as the monitor sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeState {
    /// The node's name (`<region>-a`, `<region>-b`).
    pub name: String,
    /// Its PostgreSQL port on 127.0.0.1.
    pub port: u16,
    /// The state its keeper last reported (`primary`, `secondary`, `wait_primary`, …).
    pub reported: String,
    /// The state the monitor assigned it.
    pub goal: String,
    /// The monitor's last health check succeeded.
    pub healthy: bool,
}

impl NodeState {
    /// Settled as a primary that takes writes (alone, `wait_primary`, when no standby is
    /// healthy; `single` before a standby ever joined).
    pub fn is_primary(&self) -> bool {
        self.reported == self.goal
            && matches!(
                self.reported.as_str(),
                "primary" | "wait_primary" | "single"
            )
    }

    /// Settled as a synchronous standby that may be promoted.
    pub fn is_secondary(&self) -> bool {
        self.reported == "secondary" && self.goal == "secondary"
    }
}

/// The URL of the monitor's database (as the superuser, for reading its tables).
pub fn url(port: u16) -> String {
    format!("postgres://postgres@127.0.0.1:{port}/pg_auto_failover")
}

/// The URL keepers register with.
pub fn keeper_url(port: u16) -> String {
    format!("postgres://autoctl_node@127.0.0.1:{port}/pg_auto_failover?sslmode=disable")
}

/// Every data node of the monitor on `port`, in registration order.
pub async fn node_states(port: u16) -> Result<Vec<NodeState>> {
    let json = psql(
        &url(port),
        "SELECT coalesce(json_agg(json_build_object('name', nodename, 'port', nodeport, \
         'reported', reportedstate, 'goal', goalstate, 'healthy', health = 1) \
         ORDER BY nodeid), '[]') FROM pgautofailover.node"
            .into(),
    )
    .await?;
    let rows: Vec<Value> =
        serde_json::from_str(json.trim()).with_context(|| format!("monitor said {json}"))?;
    rows.iter()
        .map(|row| {
            let text = |key: &str| row[key].as_str().unwrap_or_default().to_string();
            Ok(NodeState {
                name: text("name"),
                port: row["port"]
                    .as_u64()
                    .and_then(|p| u16::try_from(p).ok())
                    .context("a node without a port")?,
                reported: text("reported"),
                goal: text("goal"),
                healthy: row["healthy"].as_bool().unwrap_or(false),
            })
        })
        .collect()
}

/// The group's latest `limit` events, oldest first: what the state machine did and why.
pub async fn events(port: u16, limit: u32) -> Result<Vec<String>> {
    let out = psql(
        &url(port),
        format!(
            "SELECT to_char(eventtime, 'HH24:MI:SS.MS') || ' ' || description FROM \
             (SELECT * FROM pgautofailover.event ORDER BY eventid DESC LIMIT {limit}) e \
             ORDER BY eventid"
        ),
    )
    .await?;
    Ok(out.lines().map(str::to_string).collect())
}

/// Polls the monitor on `port` until `done` holds for its nodes, or fails after `timeout`
/// with the last states and events.
pub async fn wait_for(
    port: u16,
    what: &str,
    timeout: Duration,
    done: impl Fn(&[NodeState]) -> bool,
) -> Result<Vec<NodeState>> {
    let deadline = Instant::now() + timeout;
    let mut last = Err(anyhow::anyhow!("no answer yet"));
    while Instant::now() < deadline {
        last = node_states(port).await;
        if let Ok(states) = &last {
            if done(states) {
                return Ok(states.clone());
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let events = events(port, 12).await.unwrap_or_default();
    bail!(
        "{what}: not within {timeout:?}; monitor: {last:?}; events:\n{}",
        events.join("\n")
    )
}
