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
