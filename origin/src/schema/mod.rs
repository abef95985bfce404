//! Schema administration: the node-specific half of the schema (partitions and links between
//! nodes, generated from the region map), sample data, and keeping email claims in step with
//! the map and the claim keys.

pub mod links;
pub mod names;
pub mod partitions;
pub mod reconcile;
pub mod seed;
pub mod topology;
