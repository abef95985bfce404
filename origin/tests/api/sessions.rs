//! Ending sessions: a token used after log-out is refused in every region; log out everywhere
//! ends every session of the user; a region unreachable at log-out gets the revocation later.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use roam_shared::RegionMap;
use roam_wan::Link;

use crate::helpers::{assert_problem, fresh_email, spawn_stack, TestStack, REGIONS};

/// Adds a vehicle in a city of `region` through that region's origin: the status.
async fn add_vehicle(stack: &TestStack, region: &str, token: &str) -> u16 {
    let city = RegionMap::builtin()
        .cities_in(region)
        .next()
        .unwrap()
        .slug
        .clone();
    stack
        .origin(region)
        .add_vehicle(&city, "bike", "Somewhere 1")
        .token(token)
        .send()
        .await
        .status
}

#[tokio::test]
async fn a_token_used_after_log_out_is_refused_everywhere() {
    let stack = spawn_stack().await;
    let email = fresh_email();
    stack.sign_up("eu-west", &email, "Ended", "rome").await;
    let (ended, kept) = (
        stack.log_in("eu-west", &email).await,
        stack.log_in("eu-west", &email).await,
    );
    for region in REGIONS {
        assert_eq!(add_vehicle(&stack, region, &ended).await, 201, "{region}");
    }
    let r = stack.origin("eu-west").log_out().token(&ended).send().await;
    assert_eq!(r.status, 204, "{}", r.text());
    for region in REGIONS {
        assert_eq!(
            add_vehicle(&stack, region, &ended).await,
            401,
            "{region}: ended"
        );
        assert_eq!(
            add_vehicle(&stack, region, &kept).await,
            201,
            "{region}: another session"
        );
    }
    let r = stack.origin("eu-west").my_rides(&ended).send().await;
    assert_problem(&r, 401, "private reads check it too");

    // Log out everywhere: every session issued until now ends; a later log-in works.
    let r = stack
        .origin("eu-west")
        .log_out_everywhere()
        .token(&kept)
        .send()
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    for region in REGIONS {
        assert_eq!(add_vehicle(&stack, region, &kept).await, 401, "{region}");
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let fresh = stack.log_in("eu-west", &email).await;
    assert_eq!(add_vehicle(&stack, "us-east", &fresh).await, 201);
    stack.cleanup().await;
}

#[tokio::test]
async fn a_region_unreachable_at_log_out_gets_the_revocation_when_it_is_back() {
    let mut stack = spawn_stack().await;
    let node = SocketAddr::from(([127, 0, 0, 1], stack.node_port("us-west")));
    let link = Link::new(node).start().await.unwrap();
    let through_link = stack.database_url_at(link.addr().port());
    stack
        .peer_urls
        .insert(("eu-west".into(), "us-west".into()), through_link);
    stack.start_origins(RegionMap::builtin()).await;
    let email = fresh_email();
    stack.sign_up("eu-west", &email, "Ended", "rome").await;
    let token = stack.log_in("eu-west", &email).await;
    link.cut();
    let r = stack.origin("eu-west").log_out().token(&token).send().await;
    assert_eq!(r.status, 204, "the home and us-east took it: {}", r.text());
    assert_eq!(add_vehicle(&stack, "us-east", &token).await, 401);
    assert_eq!(
        stack
            .count_local("eu-west", "jobs", "kind = 'revocation'")
            .await,
        1
    );
    link.restore();
    // eu-west's workers deliver it (retrying with backoff) once us-west is reachable again.
    let deadline = Instant::now() + Duration::from_secs(30);
    while add_vehicle(&stack, "us-west", &token).await != 401 {
        assert!(
            Instant::now() < deadline,
            "us-west never learned of the log-out"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stack.cleanup().await;
}
