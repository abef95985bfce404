//! What handlers can reach, and the parts extractors and middleware take from it (`FromRef`),
//! so that each takes only what it uses and can be tested without a whole application.

use std::sync::Arc;

use axum::extract::FromRef;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::config::Config;
use crate::password::Hasher;
use crate::storage::health::HealthWatch;
use crate::storage::Nodes;

/// The state of every handler.
#[derive(Clone, FromRef)]
pub struct AppState {
    /// Every region's node: this region's, and the others' reached directly.
    pub nodes: Nodes,
    /// Validated configuration.
    pub config: Arc<Config>,
    /// Renders /metrics.
    pub metrics: PrometheusHandle,
    /// Hashes passwords, a bounded number at a time.
    pub hasher: Hasher,
    /// The latest health checks of every region's node.
    pub health: HealthWatch,
}
