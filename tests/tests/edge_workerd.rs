//! The edge in plain `workerd serve`, as production runs it and as the bench measures it
//! (roam_stack::workerd_edge): `request.cf` from the `MF-CF-Blob` header, the Cache API on the
//! in-memory cache service (a hit, a write's purge, read-your-writes), writes forwarded and
//! signed to real origins, a cache service per edge (two PoPs never share entries), and
//! wrangler.toml's per-address sign-up limit.

use roam_e2e::client::{email, User};
use roam_e2e::place::{LOS_ANGELES, NEW_YORK, ROME};
use roam_e2e::world::start_stack;
use roam_stack::edge::EdgeOptions;
use roam_stack::workerd_edge::{WorkerdEdge, WorkerdEdgeOptions};
use serde_json::json;

const PASSWORD: &str = "correct horse battery staple";

async fn start(stack: &roam_stack::Stack, name: &str) -> WorkerdEdge {
    let options = EdgeOptions::new(name, stack.origin_urls(), &stack.options.secret);
    let options = WorkerdEdgeOptions::roam(&options).expect("workerd options");
    match WorkerdEdge::start(options).await {
        Ok(edge) => edge,
        Err(e) => panic!("could not start the edge in workerd: {e:#}"),
    }
}

#[tokio::test]
async fn the_edge_in_plain_workerd_routes_caches_purges_and_signs() {
    let stack = start_stack("edge-workerd").await;
    let edge = start(&stack, "workerd-a").await;
    request_cf_comes_from_the_header(&edge.url()).await;

    // The user signs up first, so that the write below comes while the entry is still fresh.
    let user = User::signed_in(&edge.url(), ROME, "workerd-rider", PASSWORD).await;
    let list = format!("/api/v1/cities/{}/vehicles?status=available", ROME.city);
    a_read_is_a_miss_then_a_hit(&user, &list).await;
    a_write_purges_the_list_and_its_bookmark_is_honoured(&edge.url(), &user, &list).await;

    // Another edge has its own cache: its first read is a miss.
    let other = start(&stack, "workerd-b").await;
    let elsewhere = User::new(&other.url(), ROME).get(&list).await;
    assert_eq!(elsewhere.expect(200).header("x-roam-cache"), "miss");

    the_sign_up_limit_holds_per_address(&edge.url()).await;
}

/// request.cf comes from the header: each user is near their own region.
async fn request_cf_comes_from_the_header(edge: &str) {
    for place in [ROME, LOS_ANGELES, NEW_YORK] {
        let pong = User::new(edge, place).get("/ping").await.expect(200);
        assert_eq!(pong.body["region"], place.region, "{place:?}");
        assert_eq!(pong.body["city"].as_str().map(str::is_empty), Some(false));
        assert_eq!(pong.header("cache-control"), "no-store");
    }
}

/// A read is a miss, then a hit from the cache service, with the same body.
async fn a_read_is_a_miss_then_a_hit(user: &User, list: &str) {
    let first = user.get(list).await.expect(200);
    assert_eq!(first.header("x-roam-cache"), "miss");
    let second = user.get(list).await.expect(200);
    assert_eq!(second.header("x-roam-cache"), "hit", "{second:#?}");
    assert_eq!(second.body, first.body);
    assert_eq!(second.header("x-roam-served-by"), ROME.region);
    assert!(second.header("cache-control").contains("s-maxage"));
}

/// A signed write reaches the origin; it purges the list here and returns a bookmark that the
/// next read honours.
async fn a_write_purges_the_list_and_its_bookmark_is_honoured(edge: &str, user: &User, list: &str) {
    let added = user.add_bike(ROME.city, "Piazza Navona").await;
    let id = added.body["id"].as_str().expect("a vehicle id").to_string();
    // A reader without the bookmark sees it too: the soft purge marked the entry superseded
    // (read back on the next lookup, so it is not served as fresh), and stored it again with
    // its body (kept for stale-if-error).
    let anyone = User::new(edge, ROME).get(list).await.expect(200);
    assert_ne!(anyone.header("x-roam-cache"), "hit", "{anyone:#?}");
    let listed = anyone.body["vehicles"].as_array().expect("vehicles");
    assert!(listed.iter().any(|v| v["id"] == id.as_str()), "{listed:#?}");
    // The writer's bookmark is honoured: the entry the other reader just stored was fetched
    // after the write, so it may answer (a hit); an older one would not.
    let after = user.get_after(list, &added).await.expect(200);
    let listed = after.body["vehicles"].as_array().expect("vehicles");
    assert!(listed.iter().any(|v| v["id"] == id.as_str()), "{listed:#?}");
}

/// The sign-up limit holds here as in production: one address gets five a minute. The windows
/// are fixed, so a run that crosses a minute may see up to ten accepted first.
async fn the_sign_up_limit_holds_per_address(edge: &str) {
    let script = User::new(edge, ROME);
    let mut accepted = 0;
    let limited = loop {
        let body = json!({"email": email("script"), "name": "Script", "password": PASSWORD});
        let answer = script.post("/api/v1/users", &body).await;
        match answer.status.as_u16() {
            201 if accepted < 10 => accepted += 1,
            _ => break answer,
        }
    };
    let limited = limited.expect(429);
    assert_eq!(limited.header("retry-after"), "60");
    assert!((5..=10).contains(&accepted), "{accepted} accepted first");
    // Another address is not held back by that one.
    let elsewhere = User::new(edge, ROME);
    let body = json!({"email": email("not-a-script"), "name": "Someone", "password": PASSWORD});
    elsewhere.post("/api/v1/users", &body).await.expect(201);
}
