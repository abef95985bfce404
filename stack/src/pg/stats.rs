//! pg_stat_statements on one node, for tests that prove which node ran which statement (a
//! request that stayed in its region, a write that reached the primary). Every node preloads
//! the library; the extension is created in a database on first use.

use anyhow::{Context, Result};
use serde_json::Value;

use super::psql;

/// What one node ran of one normalised statement, in the database the URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementStats {
    /// The statement, constants replaced by `$n`.
    pub query: String,
    /// How many times it ran.
    pub calls: u64,
    /// Rows it returned or changed, summed.
    pub rows: u64,
}

const ENSURE: &str = "CREATE EXTENSION IF NOT EXISTS pg_stat_statements";

/// The statements the node at `url` ran in that URL's database since the last reset.
pub async fn statement_stats(url: &str) -> Result<Vec<StatementStats>> {
    psql(url, ENSURE.into()).await?;
    let json = psql(
        url,
        "SELECT coalesce(json_agg(json_build_object('query', query, 'calls', calls, \
         'rows', rows)), '[]') FROM pg_stat_statements \
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
            .into(),
    )
    .await?;
    let rows: Vec<Value> = serde_json::from_str(json.trim())
        .with_context(|| format!("pg_stat_statements as JSON: {json}"))?;
    Ok(rows
        .iter()
        .map(|row| StatementStats {
            query: row["query"].as_str().unwrap_or_default().to_string(),
            calls: row["calls"].as_u64().unwrap_or_default(),
            rows: row["rows"].as_u64().unwrap_or_default(),
        })
        .collect())
}

/// Forgets what the node at `url` counted so far (every database of the node).
pub async fn reset_statement_stats(url: &str) -> Result<()> {
    psql(url, ENSURE.into()).await?;
    psql(url, "SELECT pg_stat_statements_reset()".into()).await?;
    Ok(())
}
