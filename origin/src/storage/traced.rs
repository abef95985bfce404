//! Which node a piece of database work ran on, for traces and `server-timing`.
//!
//! [`on`] runs work against a pool inside a span naming the node (`db.region`,
//! `server.address`; a client span named `cross-region <region>` when it is another region's
//! node) and notes its time for the request's `server-timing`. The statements inside get spans
//! of their own from sqlx's events (`telemetry::sql`), which take the node from this span. A
//! pool knows its address but not its region, so [`Nodes`](super::Nodes) names each pool's
//! address when it connects ([`name`]).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{OnceLock, RwLock};
use std::time::Instant;

use sqlx::PgPool;
use tracing::Instrument;

use crate::telemetry::context;

/// Address (`host:port/database`) → (region, whether it is this origin's own region). One
/// process may run several origins (the tests do); they agree on what each node is.
fn names() -> &'static RwLock<BTreeMap<String, (String, bool)>> {
    static NAMES: OnceLock<RwLock<BTreeMap<String, (String, bool)>>> = OnceLock::new();
    NAMES.get_or_init(Default::default)
}

fn address(pool: &PgPool) -> String {
    let options = pool.connect_options();
    format!(
        "{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("")
    )
}

/// Records that `pool` reaches `region`'s node (`own`: this origin's region).
pub fn name(pool: &PgPool, region: &str, own: bool) {
    if let Ok(mut names) = names().write() {
        names.insert(address(pool), (region.to_string(), own));
    }
}

/// Runs `work` on `pool`'s node inside the node's span, noting its time for `server-timing`.
pub async fn on<F: Future>(pool: &PgPool, work: F) -> F::Output {
    let address = address(pool);
    let (region, own) = names()
        .read()
        .ok()
        .and_then(|n| n.get(&address).cloned())
        .unwrap_or_else(|| ("unknown".to_string(), true));
    let span = if own {
        tracing::info_span!("db", otel.name = format!("db {region}"), db.region = %region,
            server.address = %address, db.system.name = "postgresql")
    } else {
        tracing::info_span!("db", otel.name = format!("cross-region {region}"),
            otel.kind = "client", db.region = %region, server.address = %address,
            db.system.name = "postgresql")
    };
    let started = Instant::now();
    let output = work.instrument(span).await;
    context::note_db(&region, started);
    output
}

/// `.on_node(pool)` after a statement on a pool: [`on`] as a method.
pub trait OnNode: Future + Sized {
    /// Runs this work inside `pool`'s node span (see [`on`]).
    fn on_node(self, pool: &PgPool) -> impl Future<Output = Self::Output> {
        on(pool, self)
    }
}

impl<F: Future> OnNode for F {}
