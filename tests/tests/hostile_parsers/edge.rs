//! The edge's request parsers: route resolution, URL splitting, cookies, `request.cf` fields,
//! cache keys and freshness, and the outbound request it signs.

use proptest::prelude::*;
use roam_edge::cache::{judge, key_for, Verdict, Windows};
use roam_edge::cf::Geo;
use roam_edge::forward::Outbound;
use roam_edge::route::{path_and_query, resolve, DataRoute, Route};
use roam_shared::headers::GeoTags;
use roam_shared::request::cookie;
use roam_shared::signature::{is_signed_header, SharedSecret, DEV_SECRET};
use roam_shared::RegionMap;

use crate::cases;
use crate::strategies::{method, path};

proptest! {
    #![proptest_config(cases(256))]

    /// Every method and path resolves to a route or to a 404/405, without panicking; a vehicle
    /// id that reaches the cache key is a canonical UUID; data routes live under `/api/v1/`.
    #[test]
    fn edge_route_resolution_is_total(method in method(), path in path()) {
        match resolve(&method, &path) {
            Ok(Route::Data(route)) => {
                prop_assert!(path.starts_with("/api/v1/"), "{path}");
                if let Some(id) = &route.vehicle {
                    prop_assert_eq!(uuid::Uuid::parse_str(id).map(|u| u.hyphenated().to_string()).ok(), Some(id.clone()));
                }
            }
            Ok(_) => {}
            Err(e) => prop_assert!(matches!(e.status(), 404 | 405), "{method} {path}: {e}"),
        }
    }

    /// URL splitting never panics and gives back a path that starts with `/`.
    #[test]
    fn edge_url_splitting_is_total(url in "\\PC{0,80}") {
        let (path, query) = path_and_query(&url);
        prop_assert!(path.starts_with('/'), "{url} → {path}");
        prop_assert!(query.is_none_or(|q| !q.contains('#')));
    }

    /// A cookie header of any shape is read without panicking, and a value never spans pairs.
    #[test]
    fn edge_cookie_parsing_is_total(header in "\\PC{0,120}", name in "[a-z_]{1,12}") {
        if let Some(value) = cookie(&header, &name) {
            prop_assert!(!value.contains(';'));
        }
    }

    /// Whatever `request.cf` says (it is client-controlled in local dev, and free text from
    /// the network in production), the tags the edge forwards are header-safe and decode back.
    #[test]
    fn edge_geo_tags_are_always_header_safe(fields in prop::collection::vec(proptest::option::of("\\PC{0,40}"), 6)) {
        let names = ["country", "city", "colo", "continent", "latitude", "longitude"];
        let geo = Geo::from_lookup(|name| names.iter().position(|n| *n == name).and_then(|i| fields[i].clone()));
        let tags = geo.tags(RegionMap::builtin());
        for (name, value) in tags.to_headers() {
            prop_assert!(value.bytes().all(|b| (0x20..0x7f).contains(&b)), "{name}: {value:?}");
        }
        let sent = tags.to_headers();
        let back = GeoTags::from_headers(|name| sent.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str()));
        prop_assert_eq!(back, tags);
    }

    /// No client header, however named or cased, gets into the signed set: the signed
    /// headers are exactly the edge's geo tags, its idempotency key and its key's id.
    #[test]
    fn edge_never_signs_a_client_header(
        headers in prop::collection::vec((prop_oneof![
            "x-roam-[a-z-]{0,12}", "X-ROAM-[A-Z]{0,8}", "idempotency-key", "Idempotency-Key",
            "authorization", "content-type", "[a-zA-Z-]{1,16}"
        ], "[ -~]{0,30}"), 0..12),
        key in "[A-Za-z0-9._:-]{1,40}",
    ) {
        let tags = GeoTags {
            country: "IT".into(), city: "Rome".into(), colo: "FCO".into(),
            region: "eu-west".into(), lat: "41.9".into(), lon: "12.5".into(),
        };
        let out = Outbound::new("POST", "/api/v1/cities/rome/rides", &headers, b"{}".to_vec(), &tags, "req-1", Some(&key));
        let secret = SharedSecret::parse(DEV_SECRET).expect("the dev secret");
        let sent = out.signed_headers(&secret, 1_700_000_000, None);
        let mut expected: Vec<(String, String)> = tags.to_headers().iter().map(|(n, v)| (n.to_string(), v.clone())).collect();
        expected.push(("idempotency-key".into(), key));
        expected.push(("x-roam-key-id".into(), secret.id().to_string()));
        expected.sort();
        let mut signed: Vec<(String, String)> = sent.iter().filter(|(n, _)| is_signed_header(n)).cloned().collect();
        signed.sort();
        prop_assert_eq!(signed, expected);
    }

    /// Cache keys are built from known parts only: junk in the query cannot make new keys.
    #[test]
    fn edge_cache_keys_ignore_junk(query in proptest::option::of("\\PC{0,60}")) {
        let route = DataRoute::of("GET", "/api/v1/cities/rome/vehicles").expect("the list route");
        if let Some((key, forwarded)) = key_for(&route, query.as_deref()) {
            let allowed = ["", "?status=available", "?status=unavailable"];
            prop_assert!(allowed.iter().any(|q| key.ends_with(&format!("/cities/rome/vehicles{q}"))), "{key}");
            prop_assert!(allowed.iter().any(|q| forwarded == format!("/api/v1/cities/rome/vehicles{q}")), "{forwarded}");
        }
    }

    /// Any `cache-control` parses or is refused without panicking; an entry older than the
    /// reader's own write is never served as fresh, superseded or not; an entry a later write
    /// superseded (soft purge) is never served as fresh to anyone.
    #[test]
    fn edge_freshness_never_serves_older_than_a_bookmark(
        cc in "\\PC{0,60}", smax in 0u32..100_000, fetched in 0.0f64..1e13, age in 0.0f64..1e9,
        after in 1.0f64..1e6, superseded in proptest::option::of(0.0f64..1e6),
    ) {
        let _ = Windows::from_cache_control(&cc);
        let windows = Windows::from_cache_control(&format!("public, s-maxage={smax}, stale-while-revalidate=30, stale-if-error=300"));
        if let Some(w) = windows {
            let superseded_at = superseded.map(|s| fetched + s);
            let verdict = judge(fetched, &w, fetched + age, Some(fetched + after), superseded_at);
            prop_assert_eq!(verdict, Verdict::OlderThanBookmark);
            let anonymous = judge(fetched, &w, fetched + age, None, superseded_at);
            if superseded_at.is_some() {
                prop_assert!(matches!(anonymous, Verdict::StaleIfError | Verdict::TooOld), "{anonymous:?}");
            }
        }
    }
}
