//! Which of the design's routes a request is: pure, so every path and method is unit-tested
//! natively. Unknown paths are 404 and known paths with the wrong method 405 here, at the edge,
//! before anything reaches an origin.

use crate::error::{EdgeError, Result};

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

/// A route an origin answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataRoute {
    /// `POST /api/v1/users`.
    SignUp,
    /// `POST /api/v1/sessions`.
    LogIn,
    /// `DELETE /api/v1/sessions`.
    LogOut,
    /// `GET /api/v1/cities/{city}/vehicles`: edge-cached.
    VehicleList {
        /// City slug (not yet checked against the map).
        city: String,
    },
    /// `GET /api/v1/cities/{city}/vehicles/{id}`: edge-cached.
    Vehicle {
        /// City slug.
        city: String,
        /// Vehicle id, a UUID in canonical lowercase form.
        id: String,
    },
    /// `POST /api/v1/cities/{city}/vehicles`.
    AddVehicle {
        /// City slug.
        city: String,
    },
    /// `POST /api/v1/cities/{city}/rides`.
    StartRide {
        /// City slug.
        city: String,
    },
    /// `POST /api/v1/cities/{city}/rides/{id}/end`.
    EndRide {
        /// City slug.
        city: String,
    },
    /// `GET /api/v1/me/rides`: per user, never cached.
    MyRides,
    /// `DELETE /api/v1/me/sessions`: log out everywhere.
    LogOutEverywhere,
}

impl DataRoute {
    /// Whether the route changes data (carries an idempotency key, purges the cache, returns a
    /// bookmark).
    pub fn is_write(&self) -> bool {
        !matches!(
            self,
            DataRoute::VehicleList { .. } | DataRoute::Vehicle { .. } | DataRoute::MyRides
        )
    }

    /// Whether the edge may answer it from its cache.
    pub fn is_cacheable(&self) -> bool {
        matches!(
            self,
            DataRoute::VehicleList { .. } | DataRoute::Vehicle { .. }
        )
    }

    /// The city the path names, if any.
    pub fn city(&self) -> Option<&str> {
        match self {
            DataRoute::VehicleList { city }
            | DataRoute::Vehicle { city, .. }
            | DataRoute::AddVehicle { city }
            | DataRoute::StartRide { city }
            | DataRoute::EndRide { city } => Some(city),
            DataRoute::SignUp
            | DataRoute::LogIn
            | DataRoute::LogOut
            | DataRoute::LogOutEverywhere
            | DataRoute::MyRides => None,
        }
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
    let segments: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
    let not_allowed = |allow: &'static str| {
        Err(EdgeError::MethodNotAllowed {
            method: method.to_string(),
            allow,
        })
    };
    let get = |route: Route| {
        if method == "GET" {
            Ok(route)
        } else {
            not_allowed("GET")
        }
    };
    let post = |route: DataRoute| {
        if method == "POST" {
            Ok(Route::Data(route))
        } else {
            not_allowed("POST")
        }
    };
    match segments.as_slice() {
        ["ping"] => get(Route::Ping),
        ["__test", "panic"] => get(Route::TestPanic),
        ["ping", region] if !region.is_empty() => get(Route::PingRegion(region.to_string())),
        ["api", "v1", "regions"] => get(Route::Regions),
        ["api", "v1", "cities"] => get(Route::Cities),
        ["api", "v1", "openapi.json"] => get(Route::OpenApi),
        ["api", "v1", "users"] => post(DataRoute::SignUp),
        ["api", "v1", "sessions"] => match method {
            "POST" => Ok(Route::Data(DataRoute::LogIn)),
            "DELETE" => Ok(Route::Data(DataRoute::LogOut)),
            _ => not_allowed("POST, DELETE"),
        },
        ["api", "v1", "me", "rides"] => get(Route::Data(DataRoute::MyRides)),
        ["api", "v1", "me", "sessions"] => match method {
            "DELETE" => Ok(Route::Data(DataRoute::LogOutEverywhere)),
            _ => not_allowed("DELETE"),
        },
        ["api", "v1", "cities", city, rest @ ..] if !city.is_empty() => {
            let city = city.to_string();
            match rest {
                ["vehicles"] => match method {
                    "GET" => Ok(Route::Data(DataRoute::VehicleList { city })),
                    "POST" => Ok(Route::Data(DataRoute::AddVehicle { city })),
                    _ => not_allowed("GET, POST"),
                },
                ["vehicles", id] if !id.is_empty() => {
                    // Only canonical UUIDs reach the cache key; anything else names no vehicle.
                    let id = uuid::Uuid::parse_str(id)
                        .map_err(|_| EdgeError::UnknownVehicle(id.to_string()))?;
                    get(Route::Data(DataRoute::Vehicle {
                        city,
                        id: id.hyphenated().to_string(),
                    }))
                }
                ["rides"] => post(DataRoute::StartRide { city }),
                ["rides", id, "end"] if !id.is_empty() => post(DataRoute::EndRide { city }),
                _ => Err(EdgeError::NotFound(path.to_string())),
            }
        }
        _ => Err(EdgeError::NotFound(path.to_string())),
    }
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
        assert_eq!(data("POST", "/api/v1/users"), DataRoute::SignUp);
        assert_eq!(data("POST", "/api/v1/sessions"), DataRoute::LogIn);
        assert_eq!(data("DELETE", "/api/v1/sessions"), DataRoute::LogOut);
        assert_eq!(data("GET", "/api/v1/me/rides"), DataRoute::MyRides);
        assert_eq!(
            data("DELETE", "/api/v1/me/sessions"),
            DataRoute::LogOutEverywhere
        );
        let list = data("GET", "/api/v1/cities/rome/vehicles");
        assert_eq!(
            list,
            DataRoute::VehicleList {
                city: "rome".into()
            }
        );
        assert!(list.is_cacheable() && !list.is_write());
        let add = data("POST", "/api/v1/cities/rome/vehicles");
        assert!(add.is_write() && !add.is_cacheable());
        let one = data(
            "GET",
            "/api/v1/cities/rome/vehicles/6A0F8C2E-1B1E-4F7B-9D55-0C1D2E3F4A5B",
        );
        assert_eq!(
            one,
            DataRoute::Vehicle {
                city: "rome".into(),
                id: "6a0f8c2e-1b1e-4f7b-9d55-0c1d2e3f4a5b".into()
            }
        );
        assert_eq!(
            data("POST", "/api/v1/cities/paris/rides").city(),
            Some("paris")
        );
        assert!(data("POST", "/api/v1/cities/paris/rides/abc/end").is_write());
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
        ] {
            assert!(
                matches!(resolve("GET", path), Err(EdgeError::NotFound(_))),
                "{path}"
            );
        }
        assert!(matches!(
            resolve("GET", "/api/v1/cities/rome/vehicles/not-a-uuid"),
            Err(EdgeError::UnknownVehicle(_))
        ));
        for (method, path, allow) in [
            ("POST", "/ping", "GET"),
            ("PUT", "/api/v1/cities/rome/vehicles", "GET, POST"),
            ("GET", "/api/v1/sessions", "POST, DELETE"),
            ("GET", "/api/v1/users", "POST"),
            ("DELETE", "/api/v1/me/rides", "GET"),
        ] {
            match resolve(method, path) {
                Err(EdgeError::MethodNotAllowed { allow: a, .. }) => assert_eq!(a, allow),
                other => panic!("{method} {path}: {other:?}"),
            }
        }
    }
}
