//! The job a log-out leaves when a region's node could not be reached: deliver the revocation
//! there, retried with backoff until the node takes it. Enqueued on the user's home node.

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

use super::JobError;
use crate::storage::revocations::{self, Revocation};
use crate::storage::Nodes;

/// The `kind` of this job.
pub const KIND: &str = "revocation";

/// Its payload.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payload {
    /// The region whose node missed it.
    pub region: String,
    /// What to end there.
    pub revocation: Revocation,
}

/// Enqueues delivery of `revocation` to `region`, on the node of `home_city` (the user's).
pub async fn enqueue(
    conn: &mut PgConnection,
    home_city: &str,
    region: &str,
    revocation: &Revocation,
) -> sqlx::Result<()> {
    let payload = Payload {
        region: region.to_string(),
        revocation: revocation.clone(),
    };
    super::enqueue(conn, home_city, KIND, serde_json::json!(payload)).await
}

/// Writes the revocation to its region's node.
pub async fn run(nodes: &Nodes, payload: serde_json::Value) -> Result<(), JobError> {
    let Payload { region, revocation } = serde_json::from_value(payload)
        .map_err(|e| JobError::Permanent(format!("bad {KIND} payload: {e}")))?;
    revocations::write(nodes.region(&region), &revocation).await?;
    Ok(())
}
