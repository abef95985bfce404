//! The topology is data: adding a region to the map and re-running the migration adds its
//! partitions and FDW servers everywhere, and moved email claims follow.

use roam_shared::RegionMap;
use roam_stack::pg::test_cluster;

use crate::helpers::{spawn_stack_for, TestStack, PASSWORD};

/// The built-in map without us-west (its cities and fallbacks go too).
fn without_us_west() -> RegionMap {
    let mut map = RegionMap::builtin().clone();
    map.regions.retain(|r| r.name != "us-west");
    map.cities.retain(|c| c.region != "us-west");
    for region in map
        .continent_regions
        .values_mut()
        .chain(map.country_regions.values_mut())
    {
        if region == "us-west" {
            *region = "us-east".into();
        }
    }
    map.validate().unwrap();
    map
}

/// Adds a vehicle in `city`, a city new to the map, through eu-west's origin (not the city's
/// region, so the write is routed by the new map) and asserts it is stored on `home`'s node.
async fn add_vehicle_through_eu_west(stack: &TestStack, token: &str, city: &str, home: &str) {
    let r = stack
        .origin("eu-west")
        .add_vehicle(city, "bike", &format!("1 Main St, {city}"))
        .token(token)
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let in_city = format!("city = '{city}'");
    let stored = stack.count_local(home, "vehicles", &in_city).await;
    assert_eq!(stored, 1, "the {city} vehicle is on {home}'s node");
}

#[tokio::test]
async fn adding_a_region_and_re_running_the_migration_adds_it() {
    let small = without_us_west();
    let mut stack = spawn_stack_for(test_cluster().await, &small, |_| {}).await;
    let mut emails = Vec::new();
    for i in 0..12 {
        let email = format!("early{i}@example.com");
        stack.sign_up("us-east", &email, "Early", "boston").await;
        emails.push(email);
    }
    let r = stack
        .origin("us-east")
        .get("/api/v1/cities/seattle/vehicles")
        .send()
        .await;
    assert_eq!(r.status, 404, "seattle is not served yet");

    let full = RegionMap::builtin();
    stack.migrate(full).await;
    // Re-running is harmless.
    stack.migrate(full).await;
    let keys = roam_shared::email_claim::ClaimKeys::development();
    stack.reconcile_claims_everywhere(full, &keys).await;
    stack.start_origins(full).await;

    let (_, token) = stack.user("rome").await;
    add_vehicle_through_eu_west(&stack, &token, "seattle", "us-west").await;
    assert_eq!(stack.count_local("us-east", "vehicles", "true").await, 0);
    for email in &emails {
        let r = stack.origin("us-west").log_in(email, PASSWORD).send().await;
        assert_eq!(r.status, 200, "{email} can still log in: {}", r.text());
        stack.assert_email_taken("eu-west", email, "seattle").await;
    }
    let claims_on_us_west = stack.count_local("us-west", "email_claims", "true").await;
    assert!(claims_on_us_west > 0, "some claims moved to the new region");
    stack.cleanup().await;
}

#[tokio::test]
async fn adding_a_city_to_a_region_and_re_running_the_migration_widens_its_partitions() {
    let mut stack = crate::helpers::spawn_stack().await;
    let (token, boston) = stack.user_with_vehicle("boston").await;
    let mut map = RegionMap::builtin().clone();
    let mut city = map.city("boston").unwrap().clone();
    city.slug = "philadelphia".into();
    city.name = "Philadelphia".into();
    city.aliases.clear();
    map.cities.push(city);
    map.validate().unwrap();
    stack.migrate(&map).await;
    stack.migrate(&map).await;
    stack.start_origins(&map).await;

    add_vehicle_through_eu_west(&stack, &token, "philadelphia", "us-east").await;
    for region in ["us-east", "us-west", "eu-west"] {
        let r = stack
            .origin(region)
            .get("/api/v1/cities/philadelphia/vehicles")
            .send()
            .await;
        assert_eq!(
            r.json()["vehicles"].as_array().map(Vec::len),
            Some(1),
            "{region}"
        );
        let r = stack
            .origin(region)
            .get(&format!("/api/v1/cities/boston/vehicles/{boston}"))
            .send()
            .await;
        assert_eq!(
            r.status, 200,
            "boston's rows stayed through the re-bounding"
        );
    }
    stack.cleanup().await;
}
