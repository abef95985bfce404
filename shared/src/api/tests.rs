//! Validation and JSON shape tests of the API types.

use super::*;
use crate::map::RegionMap;
use crate::problem::Problem;
use proptest::prelude::*;

fn signup(email: &str, name: &str, password: &str, city: Option<&str>) -> SignUp {
    SignUp {
        email: email.into(),
        name: name.into(),
        password: password.into(),
        city: city.map(String::from),
    }
}

#[test]
fn sign_up_names_the_bad_field() {
    let map = RegionMap::builtin();
    assert_eq!(
        signup("a@b.co", "Ada", "correct horse", Some("rome")).validate(map),
        Ok(())
    );
    let field = |s: SignUp| s.validate(map).unwrap_err().field;
    assert_eq!(
        field(signup("not-an-email", "Ada", "longenough", None)),
        "email"
    );
    assert_eq!(field(signup("a@b", "Ada", "longenough", None)), "email");
    assert_eq!(
        field(signup("a b@c.de", "Ada", "longenough", None)),
        "email"
    );
    assert_eq!(field(signup("a@b.co", "  ", "longenough", None)), "name");
    assert_eq!(
        field(signup("a@b.co", &"x".repeat(101), "longenough", None)),
        "name"
    );
    assert_eq!(
        field(signup("a@b.co", "Ada\u{0}", "longenough", None)),
        "name"
    );
    assert_eq!(field(signup("a@b.co", "Ada", "short", None)), "password");
    assert_eq!(
        field(signup("a@b.co", "Ada", "longenough", Some("tokyo"))),
        "city"
    );
}

#[test]
fn json_shapes_match_movr() {
    let v: NewVehicle = serde_json::from_str(
        r#"{"type":"scooter","last_location":"Via del Corso 1","color":"red"}"#,
    )
    .unwrap();
    assert_eq!(v.vehicle_type, VehicleType::Scooter);
    assert!(serde_json::from_str::<NewVehicle>(r#"{"type":"car","last_location":"x"}"#).is_err());
    assert!(
        serde_json::from_str::<StartRide>(r#"{"vehicle_id":"x","extra":1}"#).is_err(),
        "unknown fields and bad uuids are refused"
    );
    assert_eq!(VehicleType::parse("bike"), Some(VehicleType::Bike));
    assert_eq!(
        VehicleStatus::parse("available").map(VehicleStatus::as_str),
        Some("available")
    );
    let problem: Problem = FieldError::new("email", "bad").into();
    assert_eq!(
        (problem.status, problem.field.as_deref()),
        (422, Some("email"))
    );
}

proptest! {
    #[test]
    fn validation_never_panics(email in "\\PC{0,300}", name in "\\PC{0,120}", pw in "\\PC{0,140}") {
        let _ = signup(&email, &name, &pw, Some(&name)).validate(RegionMap::builtin());
        let _ = LogIn { email, password: pw }.validate();
    }
}

#[test]
fn a_region_report_is_read_from_the_origins_readiness() {
    let body = br#"{"ready":true,"region":"eu-west","checked_ms_ago":12,
        "health":{"status":"degraded","reasons":["standby lags 9 s"],"primary":"127.0.0.1:5433",
        "hosts":["127.0.0.1:5433","127.0.0.1:5434"],
        "standbys":[{"name":"node_2","state":"streaming","sync_state":"sync","lag_bytes":120,"lag_secs":9.5}],
        "jobs":{"pending":3,"dead":0,"oldest_due_secs":0.2}},"nodes":[]}"#;
    let report = RegionReport::from_readiness(body).unwrap();
    assert_eq!(report.status, "degraded");
    assert_eq!(report.primary.as_deref(), Some("127.0.0.1:5433"));
    assert_eq!(report.standbys[0].lag_secs, Some(9.5));
    assert_eq!(report.jobs.as_ref().map(|j| j.pending), Some(3));
    let early = RegionReport::from_readiness(br#"{"ready":false,"region":"eu-west","nodes":[]}"#);
    assert_eq!(early.map(|r| r.status).as_deref(), Some("down"));
    assert_eq!(RegionReport::from_readiness(b"<html>"), None);
}
