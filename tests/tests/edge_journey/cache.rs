//! The edge cache and its bounds: hits are faster, a bookmark beats another PoP's cache,
//! per-user reads are never cached, and forged geo headers change nothing.

use std::time::Instant;

use reqwest::Method;
use roam_e2e::client::{email, User};
use roam_e2e::place::{LOS_ANGELES, NEW_YORK, ROME};
use serde_json::{json, Value};

use crate::{ids, other_pop, world, PASSWORD};

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
    let added = writer.add_bike("amsterdam", "Dam Square").await;
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
