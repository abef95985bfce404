//! Strategies for hostile input: paths an attacker would try, methods, and JSON of any shape.

use proptest::prelude::*;

/// Path segments an attacker would try, mixed with real ones.
pub(crate) fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("api".to_string()),
        Just("v1".to_string()),
        Just("cities".to_string()),
        Just("rome".to_string()),
        Just("vehicles".to_string()),
        Just("rides".to_string()),
        Just("end".to_string()),
        Just("me".to_string()),
        Just("..".to_string()),
        Just("%2e%2e".to_string()),
        Just("%2F".to_string()),
        Just("%00".to_string()),
        Just(String::new()),
        Just("6a0f8c2e-1b1e-4f7b-9d55-0c1d2e3f4a5b".to_string()),
        "[A-Za-z0-9%._~-]{1,12}",
        "\\PC{1,6}".prop_map(|s| s.bytes().map(|b| format!("%{b:02X}")).collect()),
    ]
}

/// Paths of up to eight such segments.
pub(crate) fn path() -> impl Strategy<Value = String> {
    prop::collection::vec(segment(), 0..8).prop_map(|s| format!("/{}", s.join("/")))
}

/// Real methods, and made-up ones.
pub(crate) fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("GET".to_string()),
        Just("POST".to_string()),
        Just("DELETE".to_string()),
        Just("PUT".to_string()),
        Just("PATCH".to_string()),
        Just("HEAD".to_string()),
        Just("OPTIONS".to_string()),
        "[A-Z]{1,10}",
    ]
}

/// JSON values of any shape, up to a small depth.
pub(crate) fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        "\\PC{0,20}".prop_map(serde_json::Value::from),
        Just(serde_json::Value::from(
            "6a0f8c2e-1b1e-4f7b-9d55-0c1d2e3f4a5b"
        )),
        Just(serde_json::Value::from("bike")),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("type".to_string()),
                    Just("last_location".to_string()),
                    Just("vehicle_id".to_string()),
                    Just("email".to_string()),
                    Just("password".to_string()),
                    Just("name".to_string()),
                    Just("city".to_string()),
                    Just("location".to_string()),
                    "[a-z_]{1,8}",
                ],
                inner,
                0..5
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}
