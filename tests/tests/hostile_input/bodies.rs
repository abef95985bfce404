//! Hostile bodies: broken and mistyped JSON, huge numbers, unicode edge cases, oversized
//! bodies, wrong or absent content types, and fields of the wrong kind.

use roam_e2e::client::uuid_like;

use crate::cases::{post, Case, BIKE, NIL, RIDES, VEHICLES};

/// JSON that does not parse, or parses to the wrong shape.
pub(crate) fn json_syntax_and_shape() -> Vec<Case> {
    vec![
        post("malformed JSON", VEHICLES, r#"{"type":"#, &[400]),
        post("not JSON", VEHICLES, "hello", &[400]),
        post("empty body", VEHICLES, "", &[400]),
        post(
            "trailing garbage",
            VEHICLES,
            r#"{"type":"bike","last_location":"M"} x"#,
            &[400],
        ),
        post("top-level array", VEHICLES, "[]", &[422]),
        post("top-level null", VEHICLES, "null", &[422]),
        post(
            "wrong type",
            VEHICLES,
            r#"{"type":5,"last_location":"M"}"#,
            &[422],
        ),
        post(
            "unknown enum value",
            VEHICLES,
            r#"{"type":"tank","last_location":"M"}"#,
            &[422],
        ),
        post("missing field", VEHICLES, r#"{"type":"bike"}"#, &[422]),
    ]
}

/// Values at the edges: huge numbers, deep nesting, NUL, bad unicode, over-long text.
pub(crate) fn json_values() -> Vec<Case> {
    let long = "x".repeat(10_000);
    vec![
        post(
            "huge float",
            VEHICLES,
            r#"{"type":"bike","last_location":1e999999}"#,
            &[400],
        ),
        post(
            "huge integer",
            VEHICLES,
            r#"{"type":"bike","last_location":"M","color":123456789012345678901234567890}"#,
            &[422],
        ),
        post("deep nesting", VEHICLES, "[".repeat(10_000), &[400]),
        post(
            "NUL in text",
            VEHICLES,
            r#"{"type":"bike","last_location":"M\u0000x"}"#,
            &[422],
        ),
        post(
            "lone surrogate",
            VEHICLES,
            r#"{"type":"bike","last_location":"M\ud800"}"#,
            &[400],
        ),
        post(
            "bidi, zero-width, combining, emoji",
            VEHICLES,
            "{\"type\":\"bike\",\"last_location\":\"M\u{202e}\u{200b}e\u{0301}\u{1f6f4}\"}",
            &[201],
        ),
        post(
            "text far over its limit",
            VEHICLES,
            format!(r#"{{"type":"bike","last_location":"M{long}"}}"#),
            &[422],
        ),
        post(
            "invalid UTF-8",
            VEHICLES,
            b"{\"type\":\"bike\",\"last_location\":\"M\xff\xfe\"}".to_vec(),
            &[400],
        ),
        post(
            "byte-order mark",
            VEHICLES,
            "\u{feff}{\"type\":\"bike\",\"last_location\":\"M\"}",
            &[400],
        ),
        post(
            "duplicate keys",
            VEHICLES,
            r#"{"type":"bike","type":"scooter","last_location":"M"}"#,
            &[422],
        ),
    ]
}

/// A body over the limit, and bodies in other (or no) content types.
pub(crate) fn sizes_and_content_types() -> Vec<Case> {
    let mib = format!(
        r#"{{"type":"bike","last_location":"M{}"}}"#,
        "a".repeat(1024 * 1024)
    );
    vec![
        post("1 MiB body", VEHICLES, mib, &[413]),
        Case {
            content_type: Some("text/plain"),
            ..post("text/plain", VEHICLES, BIKE, &[415])
        },
        Case {
            content_type: None,
            ..post("no content type", VEHICLES, BIKE, &[415])
        },
        Case {
            content_type: Some("application/x-www-form-urlencoded"),
            ..post(
                "form encoded",
                VEHICLES,
                "type=bike&last_location=M",
                &[415],
            )
        },
        Case {
            content_type: Some("application/json; charset=utf-8"),
            ..post("JSON with charset (control)", VEHICLES, BIKE, &[201])
        },
    ]
}

/// Ids, emails and names of the wrong kind, and a city that does not exist.
pub(crate) fn fields() -> Vec<Case> {
    vec![
        post(
            "vehicle_id not a UUID",
            RIDES,
            r#"{"vehicle_id":"not-a-uuid"}"#,
            &[422],
        ),
        post(
            "vehicle_id a number",
            RIDES,
            r#"{"vehicle_id":123456789012345678901234567890}"#,
            &[422],
        ),
        post(
            "vehicle_id nil UUID",
            RIDES,
            format!(r#"{{"vehicle_id":"{NIL}"}}"#),
            &[404],
        ),
        post(
            "end: location of the wrong type",
            &format!("{RIDES}/{NIL}/end"),
            r#"{"location":5}"#,
            &[422],
        ),
        post(
            "end: id not a UUID",
            &format!("{RIDES}/not-a-uuid/end"),
            r#"{"location":"x"}"#,
            &[404],
        ),
        post(
            "sign-up: wrong types",
            "/api/v1/users",
            r#"{"email":5,"name":[],"password":{}}"#,
            &[422],
        ),
        post(
            "sign-up: NUL in name",
            "/api/v1/users",
            format!(
                r#"{{"email":"nul-{}@example.com","name":"a\u0000b","password":"a long enough password"}}"#,
                uuid_like()
            ),
            &[422],
        ),
        post(
            "log-in: wrong types",
            "/api/v1/sessions",
            r#"{"email":null,"password":5}"#,
            &[422],
        ),
        post(
            "unknown city",
            "/api/v1/cities/atlantis/rides",
            format!(r#"{{"vehicle_id":"{NIL}"}}"#),
            &[404],
        ),
    ]
}
