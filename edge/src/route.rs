//! Which route a request is, from roam-shared's route table ([`roam_shared::routes`]), plus
//! what only the edge has: its test-only panic route, and vehicle ids checked before they reach
//! a cache key. Pure, so every path and method is unit-tested natively. Unknown paths are 404
//! and known paths with the wrong method 405 here, at the edge, before anything reaches an
//! origin.

use roam_shared::routes::{self, ApiRoute, Operation};

use crate::error::{EdgeError, Result};

/// The edge's test-only route (see [`Route::TestPanic`]).
const TEST_PANIC_PATH: &str = "/__test/panic";

/// A recognised request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /ping`: answered by the edge alone.
    Ping,
    /// `GET /ping/{region}`: the round trip to that region's origin.
    PingRegion(String),
    /// `GET /api/v1/regions`: the edge's view of each region's health.
    Regions,
    /// `GET /api/v1/cities`: the city → region map.
    Cities,
    /// `GET /api/v1/openapi.json`: the API's OpenAPI document.
    OpenApi,
    /// A data route, forwarded to an origin.
    Data(DataRoute),
    /// `GET /__test/panic`: panics on purpose, when `EDGE_TEST_PANIC=1` in development (the
    /// end-to-end tests prove a panic is still answered with problem+json); else 404.
    TestPanic,
}

/// A route an origin answers: its row of the table and the path's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataRoute {
    /// The route's row of the table (write, cacheable, home, ...).
    pub api: &'static ApiRoute,
    /// The city the path names (not yet checked against the map).
    pub city: Option<String>,
    /// The vehicle id of `GET …/vehicles/{id}`, in canonical lowercase UUID form.
    pub vehicle: Option<String>,
}

impl DataRoute {
    /// The data route `method` and `path` resolve to, if they resolve to one.
    pub fn of(method: &str, path: &str) -> Option<Self> {
        match resolve(method, path) {
            Ok(Route::Data(route)) => Some(route),
            _ => None,
        }
    }

    /// Which operation it is.
    pub fn op(&self) -> Operation {
        self.api.op
    }

    /// Whether the route changes data (carries an idempotency key, purges the cache, returns a
    /// bookmark).
    pub fn is_write(&self) -> bool {
        self.api.write
    }

    /// Whether the edge may answer it from its cache.
    pub fn is_cacheable(&self) -> bool {
        self.api.cacheable
    }

    /// The city the path names, if any.
    pub fn city(&self) -> Option<&str> {
        self.city.as_deref()
    }
}

/// The path and the query (without `?`) of an absolute URL as workerd hands it over (already
/// normalised: percent-encoded, dot segments resolved). Splitting the string ourselves keeps
/// the `url` crate, and the IDNA tables it pulls in, out of the bundle.
pub fn path_and_query(url: &str) -> (&str, Option<&str>) {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let target = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
    let target = target.split('#').next().unwrap_or(target);
    match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    }
}

/// Resolves a method and a path (no query) to a route.
pub fn resolve(method: &str, path: &str) -> Result<Route> {
    let not_allowed = |allow: &'static str| EdgeError::MethodNotAllowed {
        method: method.to_string(),
        allow,
    };
    if path == TEST_PANIC_PATH {
        return if method == "GET" {
            Ok(Route::TestPanic)
        } else {
            Err(not_allowed("GET"))
        };
    }
    let found = routes::find(path).ok_or_else(|| EdgeError::NotFound(path.to_string()))?;
    // Only canonical UUIDs reach the cache key; anything else names no vehicle (404, whatever
    // the method).
    let vehicle = match found.param("id") {
        Some(id) if found.template() == Operation::GetVehicle.route().path => {
            let id =
                uuid::Uuid::parse_str(id).map_err(|_| EdgeError::UnknownVehicle(id.to_string()))?;
            Some(id.hyphenated().to_string())
        }
        _ => None,
    };
    let api = found.route(method).map_err(not_allowed)?;
    Ok(match api.op {
        Operation::Ping => Route::Ping,
        Operation::PingRegion => {
            Route::PingRegion(found.param("region").unwrap_or_default().to_string())
        }
        Operation::ListRegions => Route::Regions,
        Operation::ListCities => Route::Cities,
        Operation::OpenApi => Route::OpenApi,
        Operation::SignUp
        | Operation::LogIn
        | Operation::LogOut
        | Operation::LogOutEverywhere
        | Operation::ListVehicles
        | Operation::AddVehicle
        | Operation::GetVehicle
        | Operation::StartRide
        | Operation::EndRide
        | Operation::MyRides => Route::Data(DataRoute {
            api,
            city: found.param("city").map(str::to_string),
            vehicle,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(method: &str, path: &str) -> DataRoute {
        match resolve(method, path) {
            Ok(Route::Data(d)) => d,
            other => panic!("{method} {path}: {other:?}"),
        }
    }

    fn op(method: &str, path: &str) -> Operation {
        data(method, path).op()
    }

    #[test]
    fn every_route_of_the_design_resolves() {
        assert_eq!(resolve("GET", "/ping").unwrap(), Route::Ping);
        assert_eq!(
            resolve("GET", "/ping/eu-west").unwrap(),
            Route::PingRegion("eu-west".into())
        );
        assert_eq!(resolve("GET", "/api/v1/regions").unwrap(), Route::Regions);
        assert_eq!(resolve("GET", "/api/v1/cities").unwrap(), Route::Cities);
        assert_eq!(
            resolve("GET", "/api/v1/openapi.json").unwrap(),
            Route::OpenApi
        );
        assert_eq!(resolve("GET", "/__test/panic").unwrap(), Route::TestPanic);
        assert_eq!(op("POST", "/api/v1/users"), Operation::SignUp);
        assert_eq!(op("POST", "/api/v1/sessions"), Operation::LogIn);
        assert_eq!(op("DELETE", "/api/v1/sessions"), Operation::LogOut);
        assert_eq!(op("GET", "/api/v1/me/rides"), Operation::MyRides);
        assert_eq!(
            op("DELETE", "/api/v1/me/sessions"),
            Operation::LogOutEverywhere
        );
        let list = data("GET", "/api/v1/cities/rome/vehicles");
        assert_eq!(list.op(), Operation::ListVehicles);
        assert_eq!(list.city(), Some("rome"));
        assert!(list.is_cacheable() && !list.is_write());
        let add = data("POST", "/api/v1/cities/rome/vehicles");
        assert!(add.is_write() && !add.is_cacheable());
        let one = data(
            "GET",
            "/api/v1/cities/rome/vehicles/6A0F8C2E-1B1E-4F7B-9D55-0C1D2E3F4A5B",
        );
        assert_eq!(one.op(), Operation::GetVehicle);
        assert_eq!(
            one.vehicle.as_deref(),
            Some("6a0f8c2e-1b1e-4f7b-9d55-0c1d2e3f4a5b")
        );
        assert_eq!(
            data("POST", "/api/v1/cities/paris/rides").city(),
            Some("paris")
        );
        let end = data("POST", "/api/v1/cities/paris/rides/abc/end");
        assert!(end.is_write() && end.op() == Operation::EndRide && end.vehicle.is_none());
    }

    #[test]
    fn urls_split_into_path_and_query() {
        assert_eq!(
            path_and_query("http://127.0.0.1:8787/ping"),
            ("/ping", None)
        );
        assert_eq!(
            path_and_query("https://roam.example/api/v1/cities/rome/vehicles?status=available#x"),
            ("/api/v1/cities/rome/vehicles", Some("status=available"))
        );
        assert_eq!(path_and_query("https://roam.example"), ("/", None));
        assert_eq!(path_and_query("https://roam.example?x=1"), ("/", None));
        assert_eq!(path_and_query("http://h/a?"), ("/a", Some("")));
    }

    #[test]
    fn unknown_paths_are_404_and_wrong_methods_405() {
        for path in [
            "/",
            "/pingx",
            "/ping/",
            "/api/v1",
            "/api/v1/cities/rome",
            "/api/v2/regions",
            "/api/v1/cities//vehicles",
            "/api/v1/cities/rome/vehicles/",
            "/api/v1/me",
            "/__test/panicx",
        ] {
            assert!(
                matches!(resolve("GET", path), Err(EdgeError::NotFound(_))),
                "{path}"
            );
        }
        for method in ["GET", "POST"] {
            assert!(matches!(
                resolve(method, "/api/v1/cities/rome/vehicles/not-a-uuid"),
                Err(EdgeError::UnknownVehicle(_))
            ));
        }
        for (method, path, allow) in [
            ("POST", "/ping", "GET"),
            ("PUT", "/api/v1/cities/rome/vehicles", "GET, POST"),
            ("GET", "/api/v1/sessions", "POST, DELETE"),
            ("GET", "/api/v1/users", "POST"),
            ("DELETE", "/api/v1/me/rides", "GET"),
            ("POST", "/__test/panic", "GET"),
            (
                "POST",
                "/api/v1/cities/rome/vehicles/6a0f8c2e-1b1e-4f7b-9d55-0c1d2e3f4a5b",
                "GET",
            ),
        ] {
            match resolve(method, path) {
                Err(EdgeError::MethodNotAllowed { allow: a, .. }) => assert_eq!(a, allow),
                other => panic!("{method} {path}: {other:?}"),
            }
        }
    }
}
