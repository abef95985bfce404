//! The whole MovR journey through the edge (real workerd) to real origins and real PostgreSQL
//! nodes, as users in Rome, Los Angeles and New York; the edge cache and read-your-writes
//! across two PoPs; and a client's forged geo headers.
//!
//! One stack and two edges (two PoPs, each with its own cache) serve every test of this
//! binary: the journeys in `journey`, the cache and headers in `cache`.

mod cache;
mod journey;

use roam_e2e::client::Answer;
use roam_e2e::world::{start_edge_for, World};
use roam_stack::edge::EdgeProcess;
use tokio::sync::OnceCell;

const PASSWORD: &str = "correct horse battery staple";

/// The stack, and the PoP every journey uses.
async fn world() -> &'static World {
    static WORLD: OnceCell<World> = OnceCell::const_new();
    World::shared(&WORLD, "edge-journey").await
}

/// A second PoP in front of the same origins, with its own cache.
async fn other_pop() -> &'static EdgeProcess {
    static POP: OnceCell<EdgeProcess> = OnceCell::const_new();
    let world = world().await;
    POP.get_or_init(|| start_edge_for("edge-journey-b", &world.stack))
        .await
}

/// The ids of the objects in `list`'s array `field`.
fn ids(list: &Answer, field: &str) -> Vec<String> {
    list.body[field]
        .as_array()
        .unwrap_or_else(|| panic!("no `{field}` array in {:#?}", list.body))
        .iter()
        .filter_map(|v| v["id"].as_str().map(str::to_string))
        .collect()
}
