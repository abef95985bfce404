//! The journey itself: sign up, log in, list, add a vehicle, ride it, list my rides, log out,
//! checking where each row is stored.

use roam_e2e::client::{email, User};
use roam_e2e::db::local_rows;
use roam_e2e::place::{Place, LOS_ANGELES, NEW_YORK, ROME};
use serde_json::json;

use crate::{ids, world, PASSWORD};

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
    user.delete("/api/v1/sessions").await.expect(204);
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
