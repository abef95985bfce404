//! The health of every region's node as this origin sees it, checked in the background every
//! [`EVERY`] and read from memory by `/readyz`: however often that is asked (a flood of it
//! included), the nodes see one cheap check per region per period and the request pools none.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::task::JoinHandle;

use crate::error::{is_unavailable, sqlstate};
use crate::schema::names::local_table;
use crate::storage::Nodes;

/// How often the nodes are checked.
pub const EVERY: Duration = Duration::from_secs(1);
/// How long one check may take.
const CHECK_TIMEOUT: Duration = Duration::from_millis(1500);

/// One region's node as this origin sees it.
#[derive(Debug, Clone, Serialize)]
pub struct NodeCheck {
    /// The node's region.
    pub region: String,
    /// Whether it is this origin's own region.
    pub local: bool,
    /// Whether it answered.
    pub ok: bool,
    /// How long it took, ms.
    pub ms: f64,
    /// Why not, without connection strings or query text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// When the checks were taken, and what they found.
type Checked = Option<(Instant, Vec<NodeCheck>)>;

/// The latest checks of every node, shared by the checker and `/readyz`.
#[derive(Clone, Debug, Default)]
pub struct HealthWatch {
    latest: Arc<RwLock<Checked>>,
}

impl HealthWatch {
    /// Starts checking every region's node of `nodes`; the task runs until aborted.
    pub fn start(nodes: Nodes, regions: Vec<String>) -> (Self, JoinHandle<()>) {
        let watch = Self::default();
        let writer = watch.clone();
        let task = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(EVERY);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let checks = regions
                    .iter()
                    .map(|r| check_node(&nodes, r.clone(), r == nodes.own_region()));
                let checks = futures::future::join_all(checks).await;
                if let Ok(mut latest) = writer.latest.write() {
                    *latest = Some((Instant::now(), checks));
                }
            }
        });
        (watch, task)
    }

    /// The latest checks and how old they are (`None` before the first completes).
    pub fn latest(&self) -> Option<(Duration, Vec<NodeCheck>)> {
        let latest = self.latest.read().ok()?;
        latest
            .as_ref()
            .map(|(at, checks)| (at.elapsed(), checks.clone()))
    }
}

/// How one region's node answers this origin now. A node reached directly answers `SELECT 1`;
/// one reached through postgres_fdw is asked for a row of its foreign partition.
async fn check_node(nodes: &Nodes, region: String, local: bool) -> NodeCheck {
    let sql = if nodes.is_direct(&region) {
        "SELECT 1".to_string()
    } else {
        format!(
            "SELECT 1 FROM {} LIMIT 1",
            local_table("email_claims", &region)
        )
    };
    let started = Instant::now();
    let asked = sqlx::query(&sql).fetch_optional(nodes.region(&region));
    let result = tokio::time::timeout(CHECK_TIMEOUT, asked).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let error = match result {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some(short_error(&e)),
        Err(_) => Some("timed out".to_string()),
    };
    NodeCheck {
        region,
        local,
        ok: error.is_none(),
        ms: (ms * 100.0).round() / 100.0,
        error,
    }
}

/// A database error's kind, without connection strings or query text.
fn short_error(e: &sqlx::Error) -> String {
    match sqlstate(e) {
        Some(code) => format!("database error {code}"),
        None if is_unavailable(e) => "unreachable".to_string(),
        None => "error".to_string(),
    }
}
