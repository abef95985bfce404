//! The whole MovR journey through the edge (real workerd) to real origins and real PostgreSQL
//! nodes, as users in Rome, Los Angeles and New York; the edge cache and read-your-writes
//! across two PoPs; and a client's forged geo headers.
//!
//! One stack and two edges (two PoPs, each with its own cache) serve every test of this file.

use std::time::Instant;

use reqwest::Method;
use roam_e2e::client::{email, Answer, User};
use roam_e2e::db::local_rows;
use roam_e2e::place::{Place, LOS_ANGELES, NEW_YORK, ROME};
use roam_e2e::world::{start_edge_for, World};
use roam_stack::edge::EdgeProcess;
use serde_json::{json, Value};
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

fn ids(list: &Answer, field: &str) -> Vec<String> {
    list.body[field]
        .as_array()
        .unwrap_or_else(|| panic!("no `{field}` array in {:#?}", list.body))
        .iter()
        .filter_map(|v| v["id"].as_str().map(str::to_string))
        .collect()
}

/// The regions whose nodes are checked for where a row lives.
const REGIONS: [&str; 3] = ["us-east", "us-west", "eu-west"];

/// Panics unless the row of `table` with `id` is on `home`'s node only.
async fn stored_at_home_only(table: &str, id: &str, home: &str) {
    let stack = &world().await.stack;
    for region in REGIONS {
        let expected = u32::from(region == home);
        assert_eq!(
            local_rows(stack, region, table, id).await,
            expected,
            "{table} row on {region}"
        );
    }
}

async fn journey(place: Place) {
    let w = world().await;
    let mut user = w.user(place);
    let email = email(&format!("journey-{}", place.city));
    let user_id = sign_up(&user, place, &email).await;
    // Log in.
    let session = user.log_in(&email, PASSWORD).await;
    assert_eq!(session.header("x-roam-served-by"), place.region);
    assert_eq!(session.body["user"]["id"], user_id.as_str());
    let vehicle_id = list_and_add_a_vehicle(&user, place).await;
    let ride_id = ride(&user, place, &vehicle_id).await;
    // My rides: routed by the token's home city, never cached.
    let mine = user.get("/api/v1/me/rides").await.expect(200);
    assert_eq!(mine.header("x-roam-served-by"), place.region);
    assert_eq!(mine.header("x-roam-cache"), "bypass");
    assert!(ids(&mine, "rides").contains(&ride_id));
    // Log out.
    user.send(Method::DELETE, "/api/v1/sessions", None, &[])
        .await
        .expect(204);
}

/// Signs up: the city defaults to the one the edge detected; the row lives in its region.
/// Returns the user's id.
async fn sign_up(user: &User, place: Place, email: &str) -> String {
    let signed_up = user
        .post(
            "/api/v1/users",
            &json!({"email": email, "name": "Ada", "password": PASSWORD}),
        )
        .await
        .expect(201);
    assert_eq!(signed_up.header("x-roam-served-by"), place.region);
    assert_eq!(signed_up.body["city"], place.city);
    assert!(
        signed_up.body.get("password").is_none() && signed_up.body.get("password_hash").is_none()
    );
    assert!(!signed_up.header("x-request-id").is_empty());
    assert!(signed_up.header("server-timing").contains("origin;dur="));
    let user_id = signed_up.body["id"]
        .as_str()
        .expect("a user id")
        .to_string();
    stored_at_home_only("users", &user_id, place.region).await;
    user_id
}

/// Lists the home city's vehicles (twice: the second from the edge cache), adds one, and
/// finds it in the list again; returns its id.
async fn list_and_add_a_vehicle(user: &User, place: Place) -> String {
    let list_path = format!("/api/v1/cities/{}/vehicles", place.city);
    let first = user.get(&list_path).await.expect(200);
    assert_eq!(first.header("x-roam-served-by"), place.region);
    assert!(
        matches!(first.header("x-roam-cache"), "miss" | "hit"),
        "{first:#?}"
    );
    let cached = user.get(&list_path).await.expect(200);
    assert_eq!(cached.header("x-roam-cache"), "hit");
    assert_eq!(cached.body, first.body);

    // Add a vehicle: served by the home region, stored on its node only, bookmark returned.
    let added = user
        .post(
            &list_path,
            &json!({"type": "scooter", "last_location": "Main Street 1", "color": "red"}),
        )
        .await
        .expect(201);
    assert_eq!(added.header("x-roam-served-by"), place.region);
    let bookmark = added.header("x-roam-bookmark").to_string();
    assert!(bookmark.starts_with("b3."), "{added:#?}");
    assert!(
        added.header("set-cookie").contains("roam_bookmark="),
        "{added:#?}"
    );
    let vehicle_id = added.body["id"].as_str().expect("a vehicle id").to_string();
    stored_at_home_only("vehicles", &vehicle_id, place.region).await;

    // The write purged this PoP's list, and the bookmark guarantees it anyway: no stale list.
    let after = user.get(&list_path).await.expect(200);
    assert!(
        ids(&after, "vehicles").contains(&vehicle_id),
        "purged list lacks the new vehicle"
    );
    let with_bookmark = user.get_after(&list_path, &added).await.expect(200);
    assert!(ids(&with_bookmark, "vehicles").contains(&vehicle_id));
    vehicle_id
}

/// Starts a ride on the vehicle (which becomes unavailable; riding it twice is a conflict)
/// and ends it; returns the ride's id.
async fn ride(user: &User, place: Place, vehicle_id: &str) -> String {
    let rides = format!("/api/v1/cities/{}/rides", place.city);
    let ride = user
        .post(&rides, &json!({"vehicle_id": vehicle_id}))
        .await
        .expect(201);
    assert_eq!(ride.header("x-roam-served-by"), place.region);
    let ride_id = ride.body["id"].as_str().expect("a ride id").to_string();
    assert_eq!(ride.body["start_location"], "Main Street 1");
    stored_at_home_only("rides", &ride_id, place.region).await;
    let vehicle_path = format!("/api/v1/cities/{}/vehicles/{vehicle_id}", place.city);
    let vehicle = user.get_after(&vehicle_path, &ride).await.expect(200);
    assert_eq!(vehicle.body["status"], "unavailable");
    user.post(&rides, &json!({"vehicle_id": vehicle_id}))
        .await
        .expect(409);

    let ended = user
        .post(
            &format!("{rides}/{ride_id}/end"),
            &json!({"location": "Main Street 9"}),
        )
        .await
        .expect(200);
    assert_eq!(ended.body["end_location"], "Main Street 9");
    let vehicle = user.get_after(&vehicle_path, &ended).await.expect(200);
    assert_eq!(vehicle.body["status"], "available");
    assert_eq!(vehicle.body["last_location"], "Main Street 9");
    ride_id
}

#[tokio::test(flavor = "multi_thread")]
async fn the_journey_as_a_user_in_rome() {
    journey(ROME).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_journey_as_a_user_in_los_angeles() {
    journey(LOS_ANGELES).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_journey_as_a_user_in_new_york() {
    journey(NEW_YORK).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_geo_headers_have_no_effect() {
    let w = world().await;
    let user = w.user(ROME);
    let forged = [
        ("x-roam-city", "Paris"),
        ("x-roam-country", "FR"),
        ("x-roam-region", "us-west"),
        ("x-roam-timestamp", "1"),
        ("x-roam-signature", "00"),
    ];
    let body = json!({"email": email("forger"), "name": "Eve", "password": PASSWORD});
    let signed_up = user
        .send(Method::POST, "/api/v1/users", Some(&body), &forged)
        .await
        .expect(201);
    assert_eq!(
        signed_up.body["city"], "rome",
        "the client's x-roam-city: Paris was ignored"
    );
    assert_eq!(signed_up.header("x-roam-served-by"), "eu-west");
}

#[tokio::test(flavor = "multi_thread")]
async fn cache_hits_are_served_at_the_edge_and_faster() {
    let w = world().await;
    let user = w.user(NEW_YORK);
    // Paris is read by no other test and written by none: its entries stay put.
    let list = user.get("/api/v1/cities/paris/vehicles").await.expect(200);
    let vehicles = ids(&list, "vehicles");
    assert!(vehicles.len() >= 5, "seeded vehicles: {list:#?}");
    let again = user
        .get("/api/v1/cities/paris/vehicles?utm_source=x&status=")
        .await;
    // `status=` is no known value: the origin judges it; the cache key ignores utm_source.
    assert!(
        again.status.is_success() || again.status.as_u16() == 422,
        "{again:#?}"
    );

    let (mut misses, mut hits) = (Vec::new(), Vec::new());
    for id in &vehicles {
        let path = format!("/api/v1/cities/paris/vehicles/{id}");
        let started = Instant::now();
        let miss = user.get(&path).await.expect(200);
        misses.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(miss.header("x-roam-cache"), "miss");
        assert_eq!(miss.header("x-roam-served-by"), "eu-west");
        let started = Instant::now();
        let hit = user.get(&path).await.expect(200);
        hits.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(hit.header("x-roam-cache"), "hit");
        assert_eq!(hit.body, miss.body);
        assert_eq!(hit.header("cache-control"), miss.header("cache-control"));
    }
    let p50 = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (miss_p50, hit_p50) = (p50(&mut misses), p50(&mut hits));
    eprintln!("edge cache on loopback: miss p50 {miss_p50:.2} ms, hit p50 {hit_p50:.2} ms");
    assert!(
        hit_p50 < miss_p50,
        "hits ({hit_p50} ms) should beat misses ({miss_p50} ms)"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bookmark_beats_another_pops_cache() {
    let w = world().await;
    let writer = w.signed_in(ROME, "bookmarker", PASSWORD).await;
    let reader = User::new(&other_pop().await.url(), ROME);
    let path = "/api/v1/cities/amsterdam/vehicles";

    // The other PoP caches Amsterdam's list.
    reader.get(path).await.expect(200);
    let cached = reader.get(path).await.expect(200);
    assert_eq!(cached.header("x-roam-cache"), "hit");

    // A write through the first PoP purges only the first PoP's cache.
    let added = writer
        .post(
            path,
            &json!({"type": "bike", "last_location": "Dam Square"}),
        )
        .await
        .expect(201);
    let vehicle_id = added.body["id"].as_str().expect("a vehicle id").to_string();

    // Without the bookmark, the other PoP may still serve its entry (that is what s-maxage
    // allows); with it, never.
    let with_bookmark = reader.get_after(path, &added).await.expect(200);
    assert_eq!(with_bookmark.header("x-roam-cache"), "bypass");
    assert!(ids(&with_bookmark, "vehicles").contains(&vehicle_id));
    // The cookie works like the header; the refreshed entry now satisfies the bookmark.
    let cookie = format!("roam_bookmark={}", added.header("x-roam-bookmark"));
    let by_cookie = reader
        .send(Method::GET, path, None, &[("cookie", &cookie)])
        .await
        .expect(200);
    assert!(ids(&by_cookie, "vehicles").contains(&vehicle_id));
    // `stale` only if this machine took longer than s-maxage since the bypass.
    assert!(
        matches!(by_cookie.header("x-roam-cache"), "hit" | "stale"),
        "{by_cookie:#?}"
    );
    // A forged bookmark is ignored rather than trusted.
    let forged = reader
        .send(
            Method::GET,
            path,
            None,
            &[("x-roam-bookmark", "b1.99999999999999.AAAA")],
        )
        .await
        .expect(200);
    assert!(
        matches!(forged.header("x-roam-cache"), "hit" | "stale"),
        "{forged:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn per_user_reads_are_never_cached_and_need_a_session() {
    let w = world().await;
    let anonymous = w.user(LOS_ANGELES);
    let refused = anonymous.get("/api/v1/me/rides").await.expect(401);
    assert_eq!(refused.header("content-type"), "application/problem+json");
    let user = w.signed_in(LOS_ANGELES, "private", PASSWORD).await;
    for _ in 0..2 {
        let mine = user.get("/api/v1/me/rides").await.expect(200);
        assert_eq!(mine.header("x-roam-cache"), "bypass");
        assert_eq!(mine.body, json!({"rides": []}));
    }
    let _: Value = refused.body;
}
