use super::*;

fn resolve(method: &str, path: &str) -> Result<Operation, &'static str> {
    find(path).ok_or("404")?.route(method).map(|r| r.op)
}

#[test]
fn rows_are_in_operation_order_and_paths_adjacent() {
    for (i, row) in ROUTES.iter().enumerate() {
        assert_eq!(row.op as usize, i, "{}", row.operation_id);
        assert_eq!(row.op.route(), row);
        let first = ROUTES.iter().position(|r| r.path == row.path).unwrap();
        assert!(
            ROUTES[first..=i].iter().all(|r| r.path == row.path),
            "{} is not next to its path's other routes",
            row.operation_id
        );
        let same = ROUTES
            .iter()
            .filter(|r| r.path == row.path && r.method == row.method);
        assert_eq!(same.count(), 1, "{}", row.operation_id);
        assert!(!(row.write && row.cacheable), "{}", row.operation_id);
        assert!(!row.json_body || row.write, "{}", row.operation_id);
        assert_eq!(
            row.home == Home::PathCity,
            row.path.contains("{city}"),
            "{}",
            row.operation_id
        );
    }
}

#[test]
fn every_row_matches_its_own_path() {
    for row in &ROUTES {
        let path = row
            .path
            .replace("{city}", "rome")
            .replace("{id}", "6a0f8c2e-1b1e-4f7b-9d55-0c1d2e3f4a5b")
            .replace("{region}", "eu-west");
        assert_eq!(resolve(row.method.as_str(), &path), Ok(row.op), "{path}");
    }
}

#[test]
fn parameters_are_captured() {
    let m = find("/api/v1/cities/rome/rides/abc/end").unwrap();
    assert_eq!(m.template(), "/api/v1/cities/{city}/rides/{id}/end");
    assert_eq!(m.param("city"), Some("rome"));
    assert_eq!(m.param("id"), Some("abc"));
    assert_eq!(m.param("region"), None);
    assert_eq!(
        find("/ping/eu-west").unwrap().param("region"),
        Some("eu-west")
    );
    assert_eq!(find("/ping").unwrap().param("region"), None);
}

#[test]
fn unknown_paths_match_nothing_and_wrong_methods_list_the_allowed() {
    for path in [
        "/",
        "",
        "/pingx",
        "/ping/",
        "/ping/a/b",
        "/api/v1",
        "/api/v1/cities/rome",
        "/api/v2/regions",
        "/api/v1/cities//vehicles",
        "/api/v1/cities/rome/vehicles/",
        "/api/v1/cities/rome/rides//end",
        "/api/v1/me",
        "/api/v1/{city}",
        "/api/v1/cities/{city}",
        "/api/v1/health",
        "/api/v1/traces/edge",
    ] {
        assert!(find(path).is_none(), "{path}");
    }
    for (method, path, allow) in [
        ("POST", "/ping", "GET"),
        ("PUT", "/api/v1/cities/rome/vehicles", "GET, POST"),
        ("GET", "/api/v1/sessions", "POST, DELETE"),
        ("GET", "/api/v1/users", "POST"),
        ("DELETE", "/api/v1/me/rides", "GET"),
        ("GET", "/api/v1/me/sessions", "DELETE"),
        ("get", "/ping", "GET"),
    ] {
        assert_eq!(resolve(method, path), Err(allow), "{method} {path}");
    }
}

#[test]
fn the_design_s_flags() {
    let op = |o: Operation| o.route();
    assert!(op(Operation::ListVehicles).cacheable && !op(Operation::ListVehicles).write);
    assert!(op(Operation::GetVehicle).cacheable);
    assert!(op(Operation::AddVehicle).write && op(Operation::AddVehicle).json_body);
    assert!(op(Operation::LogOut).write && !op(Operation::LogOut).json_body);
    assert!(!op(Operation::MyRides).write && !op(Operation::MyRides).cacheable);
    assert_eq!(op(Operation::LogIn).home, Home::UserOrHomeCookie);
    assert_eq!(op(Operation::SignUp).home, Home::UserOrBodyCity);
    let forwarded: Vec<_> = ROUTES.iter().filter(|r| r.forwarded()).collect();
    assert_eq!(forwarded.len(), 10);
}
