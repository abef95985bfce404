//! The one route table of the public API: every route the edge accepts, with what each side
//! needs to know about it. The edge routes from it ([`find`]), the origin registers its
//! handlers under it, and the OpenAPI document's paths are generated from it (per-operation
//! schema details stay in `openapi::paths`).
//!
//! Matching is allocation-free: a path is compared segment by segment with each template, and
//! the captured parameters borrow from the path.

mod matcher;

pub use matcher::{find, PathMatch};
use Method::Get;
use Operation as Op;

/// An HTTP method the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `DELETE`.
    Delete,
}

impl Method {
    /// The method's name, upper case.
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }
}

/// Whether a route needs the caller signed in (a session token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Session {
    /// Never reads a session.
    None,
    /// Uses one when presented, works without (log-out: nothing to end is still a 204).
    Optional,
    /// 401 without a valid one.
    Required,
}

/// Where a route is answered, and for forwarded routes which region's origin gets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Home {
    /// The edge answers alone.
    Edge,
    /// The edge answers, after one round trip to the region the path names (`{region}`).
    PathRegion,
    /// Forwarded to the home region of the city the path names (`{city}`).
    PathCity,
    /// Forwarded to the signed-in user's home region, else the region nearest the user.
    User,
    /// As [`Home::User`], then the city of the `roam_home` cookie (log-in), then the nearest.
    UserOrHomeCookie,
    /// As [`Home::User`], then the `city` the JSON body names (sign-up), then the nearest.
    UserOrBodyCity,
}

/// Every operation of the API; [`Operation::route`] is its row of [`ROUTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `GET /ping`.
    Ping,
    /// `GET /ping/{region}`.
    PingRegion,
    /// `GET /api/v1/regions`.
    ListRegions,
    /// `GET /api/v1/cities`.
    ListCities,
    /// `GET /api/v1/openapi.json`.
    OpenApi,
    /// `POST /api/v1/users`.
    SignUp,
    /// `POST /api/v1/sessions`.
    LogIn,
    /// `DELETE /api/v1/sessions`.
    LogOut,
    /// `DELETE /api/v1/me/sessions`.
    LogOutEverywhere,
    /// `GET /api/v1/cities/{city}/vehicles`.
    ListVehicles,
    /// `POST /api/v1/cities/{city}/vehicles`.
    AddVehicle,
    /// `GET /api/v1/cities/{city}/vehicles/{id}`.
    GetVehicle,
    /// `POST /api/v1/cities/{city}/rides`.
    StartRide,
    /// `POST /api/v1/cities/{city}/rides/{id}/end`.
    EndRide,
    /// `GET /api/v1/me/rides`.
    MyRides,
}

impl Operation {
    /// The operation's row of the table.
    pub fn route(self) -> &'static ApiRoute {
        &ROUTES[self as usize]
    }
}

/// One route: method and path template, and what the edge and the origin do with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiRoute {
    /// Which operation this is.
    pub op: Operation,
    /// The OpenAPI `operationId`.
    pub operation_id: &'static str,
    /// The method.
    pub method: Method,
    /// The path template: literal segments and `{name}` parameters (`city`, `id`, `region`),
    /// each matching one non-empty segment.
    pub path: &'static str,
    /// A write: forwarded with an `idempotency-key`, answered with a bookmark, and it
    /// soft-purges the cache entries it affects.
    pub write: bool,
    /// The edge may answer it from its cache (its answer is public: shared by every caller).
    pub cacheable: bool,
    /// It takes a JSON body (at most [`crate::request::MAX_BODY_BYTES`]).
    pub json_body: bool,
    /// Whether it needs a session.
    pub session: Session,
    /// Where it is answered.
    pub home: Home,
}

impl ApiRoute {
    /// Whether an origin answers it (the edge forwards it), rather than the edge itself.
    pub fn forwarded(&self) -> bool {
        !matches!(self.home, Home::Edge | Home::PathRegion)
    }
}

/// A row with the defaults of a read the edge answers alone.
const fn row(op: Operation, id: &'static str, method: Method, path: &'static str) -> ApiRoute {
    ApiRoute {
        op,
        operation_id: id,
        method,
        path,
        write: false,
        cacheable: false,
        json_body: false,
        session: Session::None,
        home: Home::Edge,
    }
}

/// A write with a JSON body.
const fn write(op: Operation, id: &'static str, path: &'static str, home: Home) -> ApiRoute {
    ApiRoute {
        write: true,
        json_body: true,
        home,
        ..row(op, id, Method::Post, path)
    }
}

/// A signed-in write with a JSON body, in the city of the path.
const fn city_write(op: Operation, id: &'static str, path: &'static str) -> ApiRoute {
    ApiRoute {
        session: Session::Required,
        ..write(op, id, path, Home::PathCity)
    }
}

/// A log-out: a write without a body, at the user's home.
const fn log_out(op: Operation, id: &'static str, path: &'static str, s: Session) -> ApiRoute {
    ApiRoute {
        write: true,
        session: s,
        home: Home::User,
        ..row(op, id, Method::Delete, path)
    }
}

/// A public read of the city in the path, answered from the edge cache when it can be.
const fn cached(op: Operation, id: &'static str, path: &'static str) -> ApiRoute {
    ApiRoute {
        cacheable: true,
        home: Home::PathCity,
        ..row(op, id, Method::Get, path)
    }
}

/// The table, in [`Operation`] order; routes sharing a path are adjacent.
pub static ROUTES: [ApiRoute; 15] = [
    row(Op::Ping, "ping", Get, "/ping"),
    ApiRoute {
        home: Home::PathRegion,
        ..row(Op::PingRegion, "pingRegion", Get, "/ping/{region}")
    },
    row(Op::ListRegions, "listRegions", Get, "/api/v1/regions"),
    row(Op::ListCities, "listCities", Get, "/api/v1/cities"),
    row(Op::OpenApi, "openapi", Get, "/api/v1/openapi.json"),
    write(Op::SignUp, "signUp", "/api/v1/users", Home::UserOrBodyCity),
    write(
        Op::LogIn,
        "logIn",
        "/api/v1/sessions",
        Home::UserOrHomeCookie,
    ),
    log_out(Op::LogOut, "logOut", "/api/v1/sessions", Session::Optional),
    log_out(
        Op::LogOutEverywhere,
        "logOutEverywhere",
        "/api/v1/me/sessions",
        Session::Required,
    ),
    cached(
        Op::ListVehicles,
        "listVehicles",
        "/api/v1/cities/{city}/vehicles",
    ),
    city_write(
        Op::AddVehicle,
        "addVehicle",
        "/api/v1/cities/{city}/vehicles",
    ),
    cached(
        Op::GetVehicle,
        "getVehicle",
        "/api/v1/cities/{city}/vehicles/{id}",
    ),
    city_write(Op::StartRide, "startRide", "/api/v1/cities/{city}/rides"),
    city_write(
        Op::EndRide,
        "endRide",
        "/api/v1/cities/{city}/rides/{id}/end",
    ),
    ApiRoute {
        session: Session::Required,
        home: Home::User,
        ..row(Op::MyRides, "myRides", Get, "/api/v1/me/rides")
    },
];

#[cfg(test)]
mod tests;
