//! Geography: the nearest region to a user, and the fallbacks used when a request carries no
//! coordinates. The point and the great-circle distance are [`crate::coordinates`]'s
//! (re-exported here).

pub use crate::coordinates::{distance_km, Coordinates};
use crate::map::{Region, RegionMap};

/// What the edge knows about where a user is; every part may be missing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserLocation {
    /// From `cf.latitude`/`cf.longitude`, when valid.
    pub coordinates: Option<Coordinates>,
    /// ISO country code from `cf.country`.
    pub country: Option<String>,
    /// Continent code from `cf.continent` (`EU`, `NA`, …).
    pub continent: Option<String>,
}

/// The region closest to a point (great-circle distance); ties go to the first name.
pub fn nearest_region(map: &RegionMap, at: Coordinates) -> &Region {
    // regions_by_distance_from is never empty: a validated map has at least one region.
    map.regions_by_distance_from(at)
        .into_iter()
        .next()
        .unwrap_or_else(|| default_region(map))
}

/// The nearest region for a user: by coordinates; else by country, then continent; else the
/// configured default. Total: any input gives a region of the map.
pub fn locate<'a>(map: &'a RegionMap, user: &UserLocation) -> &'a Region {
    if let Some(at) = user.coordinates {
        if Coordinates::checked(at.lat, at.lon).is_some() {
            return nearest_region(map, at);
        }
    }
    let country = user.country.as_deref().map(str::to_ascii_uppercase);
    let by_country = country
        .as_deref()
        .and_then(|c| map.country_regions.get(c))
        .and_then(|name| map.region(name));
    let continent = user
        .continent
        .as_deref()
        .map(str::to_ascii_uppercase)
        .or_else(|| country.as_deref().and_then(continent_of).map(String::from));
    let by_continent = continent
        .as_deref()
        .and_then(|c| map.continent_regions.get(c))
        .and_then(|name| map.region(name));
    by_country
        .or(by_continent)
        .unwrap_or_else(|| default_region(map))
}

fn default_region(map: &RegionMap) -> &Region {
    map.region(&map.default_region)
        .or_else(|| map.regions.first())
        .expect("a validated map has its default region")
}

/// The continent code of an ISO 3166-1 alpha-2 country code.
pub fn continent_of(country: &str) -> Option<&'static str> {
    let code = country.trim();
    if code.len() != 2 {
        return None;
    }
    COUNTRY_CONTINENTS
        .split_ascii_whitespace()
        .find_map(|pair| {
            let (c, continent) = pair.split_once(':')?;
            c.eq_ignore_ascii_case(code).then_some(continent)
        })
}

/// ISO 3166-1 alpha-2 → continent (AF, AN, AS, EU, NA, OC, SA), as Cloudflare reports them.
const COUNTRY_CONTINENTS: &str = "\
AD:EU AE:AS AF:AS AG:NA AI:NA AL:EU AM:AS AO:AF AQ:AN AR:SA AS:OC AT:EU AU:OC AW:NA AX:EU AZ:AS \
BA:EU BB:NA BD:AS BE:EU BF:AF BG:EU BH:AS BI:AF BJ:AF BL:NA BM:NA BN:AS BO:SA BQ:NA BR:SA BS:NA \
BT:AS BV:AN BW:AF BY:EU BZ:NA CA:NA CC:AS CD:AF CF:AF CG:AF CH:EU CI:AF CK:OC CL:SA CM:AF CN:AS \
CO:SA CR:NA CU:NA CV:AF CW:NA CX:AS CY:EU CZ:EU DE:EU DJ:AF DK:EU DM:NA DO:NA DZ:AF EC:SA EE:EU \
EG:AF EH:AF ER:AF ES:EU ET:AF FI:EU FJ:OC FK:SA FM:OC FO:EU FR:EU GA:AF GB:EU GD:NA GE:AS GF:SA \
GG:EU GH:AF GI:EU GL:NA GM:AF GN:AF GP:NA GQ:AF GR:EU GS:AN GT:NA GU:OC GW:AF GY:SA HK:AS HM:AN \
HN:NA HR:EU HT:NA HU:EU ID:AS IE:EU IL:AS IM:EU IN:AS IO:AS IQ:AS IR:AS IS:EU IT:EU JE:EU JM:NA \
JO:AS JP:AS KE:AF KG:AS KH:AS KI:OC KM:AF KN:NA KP:AS KR:AS KW:AS KY:NA KZ:AS LA:AS LB:AS LC:NA \
LI:EU LK:AS LR:AF LS:AF LT:EU LU:EU LV:EU LY:AF MA:AF MC:EU MD:EU ME:EU MF:NA MG:AF MH:OC MK:EU \
ML:AF MM:AS MN:AS MO:AS MP:OC MQ:NA MR:AF MS:NA MT:EU MU:AF MV:AS MW:AF MX:NA MY:AS MZ:AF NA:AF \
NC:OC NE:AF NF:OC NG:AF NI:NA NL:EU NO:EU NP:AS NR:OC NU:OC NZ:OC OM:AS PA:NA PE:SA PF:OC PG:OC \
PH:AS PK:AS PL:EU PM:NA PN:OC PR:NA PS:AS PT:EU PW:OC PY:SA QA:AS RE:AF RO:EU RS:EU RU:EU RW:AF \
SA:AS SB:OC SC:AF SD:AF SE:EU SG:AS SH:AF SI:EU SJ:EU SK:EU SL:AF SM:EU SN:AF SO:AF SR:SA SS:AF \
ST:AF SV:NA SX:NA SY:AS SZ:AF TC:NA TD:AF TF:AN TG:AF TH:AS TJ:AS TK:OC TL:AS TM:AS TN:AF TO:OC \
TR:AS TT:NA TV:OC TW:AS TZ:AF UA:EU UG:AF UM:OC US:NA UY:SA UZ:AS VA:EU VC:NA VE:SA VG:NA VI:NA \
VN:AS VU:OC WF:OC WS:OC XK:EU YE:AS YT:AF ZA:AF ZM:AF ZW:AF";

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn map() -> &'static RegionMap {
        RegionMap::builtin()
    }

    #[test]
    fn users_land_in_the_expected_region() {
        let at = |lat, lon| UserLocation {
            coordinates: Some(Coordinates::new(lat, lon)),
            ..Default::default()
        };
        assert_eq!(locate(map(), &at(41.89, 12.49)).name, "eu-west"); // Rome
        assert_eq!(locate(map(), &at(34.05, -118.24)).name, "us-west"); // Los Angeles
        assert_eq!(locate(map(), &at(40.71, -74.0)).name, "us-east"); // New York
        assert_eq!(locate(map(), &at(35.68, 139.69)).name, "us-west"); // Tokyo
    }

    #[test]
    fn falls_back_to_country_then_continent_then_default() {
        let by = |country: Option<&str>, continent: Option<&str>| UserLocation {
            coordinates: None,
            country: country.map(String::from),
            continent: continent.map(String::from),
        };
        assert_eq!(locate(map(), &by(Some("IT"), None)).name, "eu-west");
        assert_eq!(locate(map(), &by(Some("in"), None)).name, "eu-west"); // override
        assert_eq!(locate(map(), &by(None, Some("OC"))).name, "us-west");
        assert_eq!(locate(map(), &by(Some("ZZ"), None)).name, "us-east"); // default
        assert_eq!(locate(map(), &UserLocation::default()).name, "us-east");
        assert_eq!(continent_of("br"), Some("SA"));
        assert_eq!(continent_of("BRA"), None);
    }

    proptest! {
        #[test]
        fn locate_is_total(lat in proptest::num::f64::ANY, lon in proptest::num::f64::ANY,
                           country in "\\PC{0,4}", continent in "\\PC{0,3}") {
            let user = UserLocation {
                coordinates: Some(Coordinates { lat, lon }),
                country: Some(country),
                continent: Some(continent),
            };
            let region = locate(map(), &user);
            prop_assert!(map().region(&region.name).is_some());
        }

        #[test]
        fn nearest_region_is_really_the_nearest(lat in -90.0f64..=90.0, lon in -180.0f64..=180.0) {
            let at = Coordinates::new(lat, lon);
            let chosen = nearest_region(map(), at);
            let chosen_km = distance_km(at, Coordinates::new(chosen.lat, chosen.lon));
            for region in &map().regions {
                prop_assert!(chosen_km <= distance_km(at, Coordinates::new(region.lat, region.lon)));
            }
        }
    }
}
