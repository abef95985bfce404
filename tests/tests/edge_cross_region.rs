//! The edge's part in the cross-region paths, through real workerd, origins and PostgreSQL:
//! a returning browser's log-in goes straight to the user's home region (the home cookie), a
//! sign-up to the region of the city it names, and a ride just started in another region shows
//! in the next `/me/rides` that carries its bookmark, before the rider's home has heard of it.

use reqwest::Method;
use roam_e2e::client::{email, Answer, User};
use roam_e2e::place::NEW_YORK;
use roam_e2e::world::World;
use serde_json::json;

const PASSWORD: &str = "correct horse battery staple";

/// A stack whose job workers are off (nothing tells a rider's home where they rode, so only
/// the bookmark can make a ride taken elsewhere show), and an edge.
async fn world_without_jobs() -> World {
    World::start_with("edge-cross-region", |options| {
        options
            .origin_env
            .push(("ROAM_JOBS_WORKERS".into(), "0".into()));
    })
    .await
}

fn cookie(answer: &Answer, name: &str) -> Option<String> {
    answer
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

#[tokio::test]
async fn log_in_goes_home_sign_up_goes_to_its_city_and_a_ride_elsewhere_shows_at_once() {
    let world = world_without_jobs().await;

    let rider = roman_from_new_york(&world).await;

    // The Roman starts a ride in New York; home (eu-west) does not know it (no job workers).
    let owner = world.signed_in(NEW_YORK, "owner", PASSWORD).await;
    let vehicle = owner.add_bike("new-york", "Bryant Park").await;
    let ride = rider.start_ride("new-york", &vehicle).await;
    let listed = rider.get_after("/api/v1/me/rides", &ride).await.expect(200);
    assert_eq!(
        listed.header("x-roam-served-by"),
        "eu-west",
        "home serves it"
    );
    let rides = listed.body["rides"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        rides.len(),
        1,
        "the bookmark names us-east: {:#?}",
        listed.body
    );
    assert_eq!(rides[0]["id"], ride.body["id"]);
    // Without the bookmark home asks only itself (and the regions it has recorded: none).
    let unbookmarked = rider.get("/api/v1/me/rides").await.expect(200);
    assert_eq!(
        unbookmarked.body["rides"],
        json!([]),
        "no scan of the world"
    );

    // A later write elsewhere, presenting the ride's bookmark, carries its region along.
    let vehicle = json!({"type": "scooter", "last_location": "Via del Corso"});
    let added = rider
        .send(
            Method::POST,
            "/api/v1/cities/rome/vehicles",
            Some(&vehicle),
            &[("x-roam-bookmark", ride.header("x-roam-bookmark"))],
        )
        .await
        .expect(201);
    let still = rider
        .get_after("/api/v1/me/rides", &added)
        .await
        .expect(200);
    let listed = still.body["rides"].as_array().map(Vec::len);
    assert_eq!(listed, Some(1), "{:#?}", still.body);
}

/// A user of Rome signs up from New York naming their city, then logs in from New York with
/// and without the home cookie: the user, logged in.
async fn roman_from_new_york(world: &World) -> User {
    // A user of Rome signs up from New York, naming their city: Rome's region takes it.
    let traveller = world.user(NEW_YORK);
    let who = email("rome-user");
    let signed_up = traveller
        .post(
            "/api/v1/users",
            &json!({"email": who, "name": "Roman", "password": PASSWORD, "city": "rome"}),
        )
        .await
        .expect(201);
    assert_eq!(signed_up.header("x-roam-served-by"), "eu-west");
    let home = cookie(&signed_up, "roam_home").expect("the home cookie");
    assert!(home.starts_with("roam_home=rome;"), "{home}");
    assert!(
        home.contains("Secure") && home.contains("HttpOnly"),
        "{home}"
    );

    // From New York with the cookie: straight to eu-west. Without it: New York's origin,
    // which finds the user through the claim, so the log-in works either way.
    let credentials = json!({"email": who, "password": PASSWORD});
    let body = Some(&credentials);
    let with_cookie = traveller
        .send(
            Method::POST,
            "/api/v1/sessions",
            body,
            &[("cookie", "roam_home=rome")],
        )
        .await
        .expect(200);
    assert_eq!(with_cookie.header("x-roam-served-by"), "eu-west");
    let without = traveller
        .post("/api/v1/sessions", &credentials)
        .await
        .expect(200);
    assert_eq!(without.header("x-roam-served-by"), "us-east");
    let mut rider = world.user(NEW_YORK);
    rider.token = with_cookie.body["token"].as_str().map(str::to_string);
    rider
}
