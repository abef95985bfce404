//! Which region must serve a request.

use crate::geo::{self, UserLocation};
use crate::map::{City, Region, RegionMap};

/// The API prefix every data route shares.
pub const API_PREFIX: &str = "/api/v1";

/// Why a request could not be routed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The path names a city the map does not know.
    #[error("unknown city `{0}`")]
    UnknownCity(String),
}

/// The region that must serve a request, and why.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RouteDecision<'a> {
    /// The region whose origin gets the request first.
    pub region: &'a Region,
    /// The city the path is about, if any.
    pub city: Option<&'a City>,
    /// How the region was chosen (logged and shown in responses for debugging).
    pub reason: RouteReason,
}

/// How a [`RouteDecision`] was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteReason {
    /// The path names a city: its home region.
    CityInPath,
    /// No city in the path; the signed-in user's home city decides.
    UserHomeCity,
    /// Nothing else known: the region nearest the user.
    NearestToUser,
}

/// The city segment of `/api/v1/cities/{city}/…`, if the path has one (not percent-decoded:
/// slugs are plain ASCII, so an encoded segment is simply an unknown city).
pub fn city_in_path(path: &str) -> Option<&str> {
    let rest = path.strip_prefix(API_PREFIX)?.strip_prefix("/cities/")?;
    let city = rest.split(['/', '?']).next()?;
    (!city.is_empty()).then_some(city)
}

/// The design's routing rule: a request about a city goes to that city's home region; one
/// about no city goes to the home region of the signed-in user's city, else to the region
/// nearest the user.
pub fn route<'a>(
    map: &'a RegionMap,
    path: &str,
    user: &UserLocation,
    user_home_city: Option<&str>,
) -> Result<RouteDecision<'a>, RouteError> {
    if let Some(slug) = city_in_path(path) {
        let city = map
            .city(slug)
            .ok_or_else(|| RouteError::UnknownCity(slug.to_string()))?;
        let region = map
            .region(&city.region)
            .ok_or_else(|| RouteError::UnknownCity(slug.to_string()))?;
        return Ok(RouteDecision {
            region,
            city: Some(city),
            reason: RouteReason::CityInPath,
        });
    }
    if let Some(city) = user_home_city.and_then(|slug| map.city(slug)) {
        if let Some(region) = map.region(&city.region) {
            return Ok(RouteDecision {
                region,
                city: Some(city),
                reason: RouteReason::UserHomeCity,
            });
        }
    }
    Ok(RouteDecision {
        region: geo::locate(map, user),
        city: None,
        reason: RouteReason::NearestToUser,
    })
}

/// Normalises an email for uniqueness: trimmed and lowercased.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::Coordinates;
    use proptest::prelude::*;

    fn map() -> &'static RegionMap {
        RegionMap::builtin()
    }

    fn in_rome() -> UserLocation {
        UserLocation {
            coordinates: Some(Coordinates::new(41.89, 12.49)),
            country: Some("IT".into()),
            continent: Some("EU".into()),
        }
    }

    #[test]
    fn a_city_in_the_path_wins_over_the_user() {
        let d = route(
            map(),
            "/api/v1/cities/seattle/vehicles",
            &in_rome(),
            Some("rome"),
        )
        .unwrap();
        assert_eq!(d.region.name, "us-west");
        assert_eq!(d.reason, RouteReason::CityInPath);
        assert_eq!(d.city.unwrap().slug, "seattle");
    }

    #[test]
    fn no_city_goes_home_then_nearest() {
        let d = route(map(), "/api/v1/me/rides", &in_rome(), Some("boston")).unwrap();
        assert_eq!(
            (d.region.name.as_str(), d.reason),
            ("us-east", RouteReason::UserHomeCity)
        );
        let d = route(map(), "/api/v1/users", &in_rome(), None).unwrap();
        assert_eq!(
            (d.region.name.as_str(), d.reason),
            ("eu-west", RouteReason::NearestToUser)
        );
        let d = route(map(), "/api/v1/sessions", &in_rome(), Some("atlantis")).unwrap();
        assert_eq!(d.reason, RouteReason::NearestToUser);
    }

    #[test]
    fn unknown_or_encoded_cities_are_rejected() {
        for path in [
            "/api/v1/cities/tokyo/vehicles",
            "/api/v1/cities/%72ome/vehicles",
            "/api/v1/cities/../vehicles",
            "/api/v1/cities/ROME/vehicles",
        ] {
            assert!(
                matches!(
                    route(map(), path, &in_rome(), None),
                    Err(RouteError::UnknownCity(_))
                ),
                "{path}"
            );
        }
        assert_eq!(city_in_path("/api/v1/cities/rome?x=1"), Some("rome"));
        assert_eq!(city_in_path("/api/v1/cities/"), None);
        assert_eq!(city_in_path("/api/v1/citiesrome"), None);
    }

    proptest! {
        #[test]
        fn routing_is_total(path in "\\PC{0,80}", home in proptest::option::of("\\PC{0,12}"),
                            lat in proptest::num::f64::ANY, lon in proptest::num::f64::ANY) {
            let user = UserLocation { coordinates: Some(Coordinates { lat, lon }), ..Default::default() };
            match route(map(), &path, &user, home.as_deref()) {
                Ok(d) => prop_assert!(map().region(&d.region.name).is_some()),
                Err(RouteError::UnknownCity(c)) => prop_assert!(map().city(&c).is_none()),
            }
        }

        #[test]
        fn every_known_city_routes_home(idx in 0usize..9, tail in "[a-z/0-9-]{0,30}") {
            let city = &map().cities[idx];
            let path = format!("/api/v1/cities/{}/{}", city.slug, tail);
            let d = route(map(), &path, &UserLocation::default(), None).unwrap();
            prop_assert_eq!(&d.region.name, &city.region);
        }
    }
}
