//! How the node-specific schema names things: the tables partitioned by city, the partitions
//! of a region (`<table>_<region>`), and SQL literals and identifiers for generated DDL.

/// The tables partitioned by city, and their key columns on the local partition.
pub const CITY_TABLES: [(&str, &str); 9] = [
    ("users", "city, id"),
    ("vehicles", "city, id"),
    ("rides", "city, id"),
    ("idempotency", "city, key"),
    ("jobs", "city, id"),
    ("vehicle_location_history", "city, ride_id"),
    ("rider_regions", "city, rider_id, region"),
    ("login_failures", "city, user_id"),
    ("open_rides", "city, rider_id"),
];

/// The local table of `table` on `region`'s node, e.g. `users_eu_west`.
pub fn local_table(table: &str, region: &str) -> String {
    format!("{table}_{}", region.replace('-', "_"))
}

pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

pub fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

pub fn value_list<'a>(values: impl Iterator<Item = &'a str>) -> String {
    values.map(literal).collect::<Vec<_>>().join(", ")
}
