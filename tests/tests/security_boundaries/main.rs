//! Nothing forged gets in: client-sent `x-roam-*` headers and bookmarks change nothing, an
//! origin refuses anything the edge did not sign (missing, wrong key, replayed, tampered), a
//! session token signed with another key, expired or altered is refused, one user can neither
//! end nor read another's ride, and a password never appears in an answer or a log line.
//!
//! One stack and one edge serve the binary; each boundary has its module.

mod forgery;
mod privacy;
mod tokens;

use roam_e2e::world::World;
use tokio::sync::OnceCell;

const PASSWORD: &str = "security boundaries password";

async fn world() -> &'static World {
    static WORLD: OnceCell<World> = OnceCell::const_new();
    World::shared(&WORLD, "security").await
}
