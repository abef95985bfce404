//! Cache keys: URLs the edge builds from the route with only known query parameters, so
//! `?status=available&utm=x` and `?status=available` share an entry and junk cannot fill the
//! cache; and the keys a write makes stale.

use roam_shared::api::{PageCursor, VehicleStatus, VEHICLE_PAGE_MAX};
use roam_shared::routes::Operation;

use crate::route::DataRoute;

/// Origin of every cache key; never fetched, only a namespace.
const KEY_BASE: &str = "https://edge-cache.roam.internal/v1";

/// The cache key and the path+query to forward for a cacheable route, or `None` when the
/// request must not use the cache (a `status`, `limit` or `after` the origin would reject).
/// The list's parameters come out in one order, so equal pages share an entry.
pub fn key_for(route: &DataRoute, query: Option<&str>) -> Option<(String, String)> {
    match (route.op(), route.city(), route.vehicle.as_deref()) {
        (Operation::ListVehicles, Some(city), _) => {
            let query = list_query(query)?;
            let path = format!("/api/v1/cities/{city}/vehicles{query}");
            Some((format!("{KEY_BASE}/cities/{city}/vehicles{query}"), path))
        }
        (Operation::GetVehicle, Some(city), Some(id)) => Some((
            format!("{KEY_BASE}/cities/{city}/vehicles/{id}"),
            format!("/api/v1/cities/{city}/vehicles/{id}"),
        )),
        _ => None,
    }
}

/// The list's known parameters, checked and in a fixed order (`?status=…&limit=…&after=…`);
/// `None` when one of them is malformed.
fn list_query(query: Option<&str>) -> Option<String> {
    let (mut status, mut limit, mut after) = (None, None, None);
    for (name, value) in query
        .unwrap_or("")
        .split('&')
        .filter_map(|p| p.split_once('='))
    {
        match name {
            "status" => status = Some(VehicleStatus::parse(value)?.as_str()),
            "limit" => {
                let n: u32 = value.parse().ok()?;
                limit = Some((1..=VEHICLE_PAGE_MAX).contains(&n).then_some(n)?);
            }
            "after" => after = Some(PageCursor::decode(value)?.encode()),
            _ => {}
        }
    }
    let parts: Vec<String> = [
        status.map(|s| format!("status={s}")),
        limit.map(|n| format!("limit={n}")),
        after.map(|a| format!("after={a}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    Some(if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    })
}

/// The keys a write in `city` (touching `vehicle`, if known) makes stale: the first page of
/// every list variant of the city, and the vehicle. (Later pages are not purged: they expire
/// within `s-maxage`, and a reader with the write's bookmark bypasses any older entry.)
pub fn keys_to_purge(city: &str, vehicle: Option<&str>) -> Vec<String> {
    let mut keys = vec![format!("{KEY_BASE}/cities/{city}/vehicles")];
    for status in [VehicleStatus::Available, VehicleStatus::Unavailable] {
        keys.push(format!(
            "{KEY_BASE}/cities/{city}/vehicles?status={}",
            status.as_str()
        ));
    }
    if let Some(id) = vehicle.and_then(|v| uuid::Uuid::parse_str(v).ok()) {
        keys.push(format!(
            "{KEY_BASE}/cities/{city}/vehicles/{}",
            id.hyphenated()
        ));
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_only_known_parameters() {
        let list = DataRoute::of("GET", "/api/v1/cities/rome/vehicles").unwrap();
        let (key, path) = key_for(&list, Some("utm=1&status=available&x")).unwrap();
        assert_eq!(
            key,
            format!("{KEY_BASE}/cities/rome/vehicles?status=available")
        );
        assert_eq!(path, "/api/v1/cities/rome/vehicles?status=available");
        assert_eq!(
            key_for(&list, None).unwrap().1,
            "/api/v1/cities/rome/vehicles"
        );
        assert_eq!(key_for(&list, Some("status=broken")), None);
        let after = PageCursor {
            date_added_us: 1_700_000_000_000_000,
            id: uuid::Uuid::from_u128(7),
        }
        .encode();
        let paged = format!("after={after}&limit=20&status=available");
        let (paged_key, paged_path) = key_for(&list, Some(&paged)).unwrap();
        assert_eq!(
            paged_path,
            format!("/api/v1/cities/rome/vehicles?status=available&limit=20&after={after}")
        );
        assert!(paged_key.ends_with(&paged_path[paged_path.find('?').unwrap()..]));
        for junk in ["limit=0", "limit=201", "limit=x", "after=junk"] {
            assert_eq!(key_for(&list, Some(junk)), None, "{junk}");
        }
        let purge = keys_to_purge("rome", Some("6A0F8C2E-1B1E-4F7B-9D55-0C1D2E3F4A5B"));
        assert!(purge.contains(&key));
        assert!(purge.contains(&format!("{KEY_BASE}/cities/rome/vehicles")));
        assert!(purge.contains(&format!(
            "{KEY_BASE}/cities/rome/vehicles/6a0f8c2e-1b1e-4f7b-9d55-0c1d2e3f4a5b"
        )));
        assert_eq!(keys_to_purge("rome", Some("junk")).len(), 3);
    }
}
