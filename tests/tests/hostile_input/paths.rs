//! Hostile paths and methods: traversal and percent-encoding tricks in `{city}` and `{id}`,
//! unknown routes and versions, and methods a route does not take.

use crate::cases::{case, Case, NIL, VEHICLES};

/// Traversal, encoding tricks and odd spellings where the city goes.
pub(crate) fn city_paths() -> Vec<Case> {
    vec![
        case(
            "traversal",
            "GET",
            "/api/v1/cities/../../../etc/passwd",
            &[404],
        ),
        case(
            "encoded traversal",
            "GET",
            "/api/v1/cities/%2e%2e/vehicles",
            &[404],
        ),
        case(
            "double-encoded traversal",
            "GET",
            "/api/v1/cities/%252e%252e/vehicles",
            &[404],
        ),
        case(
            "encoded slash",
            "GET",
            "/api/v1/cities/rome%2Fvehicles",
            &[404],
        ),
        case(
            "encoded NUL",
            "GET",
            "/api/v1/cities/rome%00/vehicles",
            &[404],
        ),
        case(
            "non-ASCII city",
            "GET",
            "/api/v1/cities/r%C3%B6me/vehicles",
            &[404],
        ),
        case(
            "city in capitals",
            "GET",
            "/api/v1/cities/ROME/vehicles",
            &[404],
        ),
        case(
            "very long city",
            "GET",
            &format!("/api/v1/cities/{}/vehicles", "r".repeat(5_000)),
            &[404],
        ),
    ]
}

/// Ids that are no UUIDs, odd queries, unknown routes and versions.
pub(crate) fn ids_and_routes() -> Vec<Case> {
    vec![
        case(
            "id not a UUID",
            "GET",
            "/api/v1/cities/rome/vehicles/not-a-uuid",
            &[404],
        ),
        case(
            "id traversal",
            "GET",
            "/api/v1/cities/rome/vehicles/..%2F..%2Fusers",
            &[404],
        ),
        case(
            "id nil UUID",
            "GET",
            &format!("/api/v1/cities/rome/vehicles/{NIL}"),
            &[404],
        ),
        case(
            "id in braces",
            "GET",
            "/api/v1/cities/rome/vehicles/%7B6a0f8c2e-1b1e-4f7b-9d55-0c1d2e3f4a5b%7D",
            &[404],
        ),
        case(
            "unknown status filter",
            "GET",
            "/api/v1/cities/rome/vehicles?status=bogus",
            &[422],
        ),
        case(
            "NUL in a query",
            "GET",
            "/api/v1/cities/rome/vehicles?status=%00",
            &[422],
        ),
        case("unknown route", "GET", "/api/v1/nope", &[404]),
        case(
            "unknown version",
            "GET",
            "/api/v2/cities/rome/vehicles",
            &[404],
        ),
        case(
            "double slash",
            "GET",
            "//api/v1/cities/rome/vehicles",
            &[404],
        ),
    ]
}

/// Methods a route does not take.
pub(crate) fn methods() -> Vec<Case> {
    vec![
        case("PUT a list", "PUT", VEHICLES, &[405]),
        case("DELETE users", "DELETE", "/api/v1/users", &[405]),
        case("PATCH sessions", "PATCH", "/api/v1/sessions", &[405]),
        case("GET sign-up", "GET", "/api/v1/users", &[405]),
        case("POST my rides", "POST", "/api/v1/me/rides", &[405]),
    ]
}
