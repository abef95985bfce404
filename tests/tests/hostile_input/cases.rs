//! The matrix's rows: a request as bytes and the statuses its contract allows.

use crate::{bodies, headers, paths};

/// The content type of a JSON body.
pub(crate) const JSON: Option<&str> = Some("application/json");
/// The nil UUID: well-formed, names nothing.
pub(crate) const NIL: &str = "00000000-0000-0000-0000-000000000000";
/// Rome's vehicles.
pub(crate) const VEHICLES: &str = "/api/v1/cities/rome/vehicles";
/// Rome's rides.
pub(crate) const RIDES: &str = "/api/v1/cities/rome/rides";
/// A valid new vehicle (`M`: where the case's marker goes).
pub(crate) const BIKE: &str = r#"{"type":"bike","last_location":"M"}"#;

/// One row of the matrix. `M` in a body is replaced by a marker unique to the case.
pub(crate) struct Case {
    pub(crate) name: &'static str,
    pub(crate) method: &'static str,
    pub(crate) target: String,
    pub(crate) content_type: Option<&'static str>,
    pub(crate) body: Vec<u8>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) expect: &'static [u16],
}

impl Case {
    /// The same case with `headers` sent too.
    pub(crate) fn with_headers(self, headers: Vec<(String, String)>) -> Self {
        Self { headers, ..self }
    }
}

/// A request without a body.
pub(crate) fn case(
    name: &'static str,
    method: &'static str,
    target: &str,
    expect: &'static [u16],
) -> Case {
    Case {
        name,
        method,
        target: target.to_string(),
        content_type: None,
        body: Vec::new(),
        headers: Vec::new(),
        expect,
    }
}

/// A POST of `body` as JSON.
pub(crate) fn post(
    name: &'static str,
    target: &str,
    body: impl Into<Vec<u8>>,
    expect: &'static [u16],
) -> Case {
    Case {
        content_type: JSON,
        body: body.into(),
        ..case(name, "POST", target, expect)
    }
}

/// The matrix both the edge and the origin answer, by surface.
pub(crate) fn matrix() -> Vec<Case> {
    [
        bodies::json_syntax_and_shape(),
        bodies::json_values(),
        bodies::sizes_and_content_types(),
        bodies::fields(),
        paths::city_paths(),
        paths::ids_and_routes(),
        paths::methods(),
        headers::headers(),
    ]
    .into_iter()
    .flatten()
    .collect()
}
