//! Rows live on their city's home node only, and every origin reaches every row.

use serde_json::json;

use uuid::Uuid;

use crate::helpers::{spawn_stack, Resp, TestStack, REGIONS};

#[tokio::test]
async fn a_rome_vehicle_created_through_us_east_lives_only_on_eu_west() {
    let stack = spawn_stack().await;
    let (_, token) = stack.user("new-york").await;
    let body = json!({"type": "bike", "last_location": "Piazza Navona", "color": "red"});
    let r = stack
        .origin("us-east")
        .post("/api/v1/cities/rome/vehicles", body)
        .token(&token)
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let id = r.json()["id"].as_str().unwrap().to_string();
    let filter = format!("id = '{id}'");

    assert_eq!(stack.count_local("eu-west", "vehicles", &filter).await, 1);
    assert_eq!(stack.count_local("us-east", "vehicles", &filter).await, 0);
    assert_eq!(stack.count_local("us-west", "vehicles", &filter).await, 0);
    // On us-east, vehicles_eu_west is a foreign table: it stores nothing itself.
    let kind: String =
        sqlx::query_scalar("SELECT relkind::text FROM pg_class WHERE relname = 'vehicles_eu_west'")
            .fetch_one(stack.node("us-east"))
            .await
            .unwrap();
    assert_eq!(kind, "f");

    for region in REGIONS {
        let one = stack
            .origin(region)
            .get(&format!("/api/v1/cities/rome/vehicles/{id}"))
            .send()
            .await;
        assert_eq!(one.status, 200, "{region}: {}", one.text());
        assert_eq!(one.json()["last_location"], "Piazza Navona");
        assert_eq!(
            one.header("cache-control"),
            Some("public, s-maxage=5, stale-while-revalidate=30, stale-if-error=300")
        );
        let list = stack
            .origin(region)
            .get("/api/v1/cities/rome/vehicles?status=available")
            .send()
            .await;
        assert_eq!(list.status, 200, "{region}: {}", list.text());
        assert_eq!(list.json()["vehicles"][0]["id"], id.as_str());
        let none = stack
            .origin(region)
            .get("/api/v1/cities/rome/vehicles?status=unavailable")
            .send()
            .await;
        assert_eq!(none.json()["vehicles"].as_array().unwrap().len(), 0);
    }
    stack.cleanup().await;
}

#[tokio::test]
async fn my_rides_come_from_every_region_and_rides_end_once_by_their_rider() {
    let stack = spawn_stack().await;
    let (rider, token) = stack.user("boston").await;
    let (_, other) = stack.user("paris").await;
    let rides = ride_once_in_each_region(&stack, &token, &other).await;
    // Right after the starts, as the edge sends it: the bookmark names the regions written to.
    for region in REGIONS {
        let mine = my_rides(&stack, region, &token, Some("us-west,eu-west")).await;
        assert_eq!(mine.status, 200, "{}", mine.text());
        assert_eq!(mine.header("cache-control"), Some("private, no-store"));
        let listed = mine.json()["rides"].as_array().unwrap().clone();
        assert_eq!(listed.len(), 3, "{region}: {listed:?}");
        assert!(listed.iter().all(|r| r["rider_id"] == rider.to_string()));
    }
    // Once the rides' regions have told boston's node (the job queue), no bookmark is needed.
    stack.until_rider_regions("us-east", 2).await;
    for region in REGIONS {
        let listed = my_rides(&stack, region, &token, None).await.json()["rides"].clone();
        assert_eq!(
            listed.as_array().map(Vec::len),
            Some(3),
            "{region}: {listed}"
        );
    }
    let (city, vehicle, ride) = &rides[2];
    the_open_ride_ends_once_by_its_rider(&stack, city, ride, &token, &other).await;
    let v = stack
        .origin("eu-west")
        .get(&format!("/api/v1/cities/{city}/vehicles/{vehicle}"))
        .send()
        .await;
    assert_eq!(
        (
            v.json()["status"].as_str(),
            v.json()["last_location"].as_str()
        ),
        (Some("available"), Some("Colosseo"))
    );
    stack.cleanup().await;
}

/// A boston rider starts a ride on `other`'s vehicle in a city of each region, each through an
/// origin of another region; all but the last (rome) are ended again, one open ride at a time.
/// Returns (city, vehicle, ride id) for each.
async fn ride_once_in_each_region(
    stack: &TestStack,
    token: &str,
    other: &str,
) -> Vec<(&'static str, Uuid, String)> {
    let mut rides = Vec::new();
    for (city, via) in [
        ("new-york", "us-east"),
        ("seattle", "eu-west"),
        ("rome", "us-west"),
    ] {
        let vehicle = stack.vehicle(city, other).await;
        let r = stack
            .origin(via)
            .start_ride(city, vehicle)
            .token(token)
            .send()
            .await;
        assert_eq!(r.status, 201, "{city} via {via}: {}", r.text());
        assert_eq!(r.json()["rider_city"], "boston");
        assert_eq!(r.json()["start_location"], format!("1 Main St, {city}"));
        let id = r.json()["id"].as_str().unwrap().to_string();
        if city != "rome" {
            // One open ride at a time: end it before the next (the last is ended by the test).
            let r = stack
                .origin(via)
                .end_ride(city, &id, "Back again")
                .token(token)
                .send()
                .await;
            assert_eq!(r.status, 200, "{}", r.text());
        }
        rides.push((city, vehicle, id));
    }
    rides
}

/// GET /me/rides through `region`'s origin, with the edge's recent-writes bookmark if given.
async fn my_rides(stack: &TestStack, region: &str, token: &str, recent: Option<&str>) -> Resp {
    let mut request = stack.origin(region).my_rides(token);
    if let Some(regions) = recent {
        request = request.header("x-roam-recent-writes", regions);
    }
    request.send().await
}

/// Another user may not end the ride (403); its rider ends it at Colosseo through us-east, and a
/// second end through eu-west is a conflict (409).
async fn the_open_ride_ends_once_by_its_rider(
    stack: &TestStack,
    city: &str,
    ride: &str,
    token: &str,
    other: &str,
) {
    let end = |via: &str, location: &str, as_who: &str| {
        stack
            .origin(via)
            .end_ride(city, ride, location)
            .token(as_who)
            .send()
    };
    let r = end("us-east", "Colosseo", other).await;
    assert_eq!(r.status, 403, "{}", r.text());
    let r = end("us-east", "Colosseo", token).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["end_location"], "Colosseo");
    assert!(r.json()["end_time"].is_string());
    let r = end("eu-west", "Trevi", token).await;
    assert_eq!(r.status, 409, "{}", r.text());
}
