//! SQL on the nodes, to check where rows are stored and that nothing is lost or doubled.

use std::collections::BTreeMap;

use roam_stack::stack::DATABASE;
use roam_stack::Stack;

/// Runs `sql` on `region`'s node (its primary now, for a region under pg_auto_failover) and
/// returns psql's unaligned output lines.
pub async fn sql(stack: &Stack, region: &str, sql: &str) -> Vec<String> {
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
pub fn partition(table: &str, region: &str) -> String {
    format!("{table}_{}", region.replace('-', "_"))
}

/// How many rows of `table` with `id` sit in region `region`'s node's own (local) partition.
pub async fn local_rows(stack: &Stack, region: &str, table: &str, id: &str) -> u32 {
    let partition = partition(table, region);
    let sql_text = format!("SELECT count(*) FROM \"{partition}\" WHERE id = '{id}'");
    let out = sql(stack, region, &sql_text).await;
    out.first()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("count from psql: {out:?}"))
}

/// Vehicles on `region`'s node whose `last_location` starts with `prefix`: location → ids.
/// Only the node's own partition is read, so a row counts where it is stored.
pub async fn vehicles_by_marker(
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
