//! The edge's hot paths cross into JavaScript as few times as they can: one call reads what a
//! request says about itself ([`RequestFacts`]), one call builds a response ([`respond`]).
//! The `worker` crate's wrappers cross once per value (and `worker::Request::from` reads
//! `request.cf`, which workerd builds afresh on every read); the profile in BENCHMARKS.md
//! shows those crossings were most of `/ping`'s cost. The JavaScript half is `glue.js`.

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use worker::worker_sys::web_sys;

use crate::cf::Geo;

#[wasm_bindgen(module = "/src/glue.js")]
extern "C" {
    #[wasm_bindgen(js_name = requestFacts)]
    fn request_facts(request: &web_sys::Request) -> String;
    #[wasm_bindgen(js_name = cfFacts)]
    fn cf_facts(request: &web_sys::Request) -> String;
    #[wasm_bindgen(js_name = respond, catch)]
    fn respond_js(status: u16, body: &str, headers: &str) -> Result<web_sys::Response, JsValue>;
}

/// Separates the fields the JavaScript half hands over (it drops NULs from the values).
const SEP: char = '\0';

/// What the edge needs to know about a request before it routes it, read in one crossing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestFacts {
    /// `GET`, `POST`, …
    pub method: String,
    /// The absolute URL as workerd hands it over.
    pub url: String,
    /// The client's `x-request-id`, else a fresh UUID (not yet validated).
    pub request_id: String,
    /// Where the user is.
    pub geo: Geo,
}

impl RequestFacts {
    /// Reads the request's method, URL, request id and `request.cf`.
    pub fn read(request: &web_sys::Request) -> Self {
        Self::parse(&request_facts(request))
    }

    /// Parses what `requestFacts` returns (the testable core of [`RequestFacts::read`]).
    pub fn parse(joined: &str) -> Self {
        let mut fields = joined.splitn(4, SEP);
        let mut next = || fields.next().unwrap_or_default().to_string();
        let (method, url, request_id) = (next(), next(), next());
        Self {
            method,
            url,
            request_id,
            geo: parse_geo(&next()),
        }
    }
}

/// Reads the geo fields of `request.cf` in one crossing.
pub fn geo(request: &web_sys::Request) -> Geo {
    parse_geo(&cf_facts(request))
}

/// The geo fields in `cfFacts` order: country, city, colo, continent, latitude, longitude.
fn parse_geo(joined: &str) -> Geo {
    const NAMES: [&str; 6] = [
        "country",
        "city",
        "colo",
        "continent",
        "latitude",
        "longitude",
    ];
    let values: Vec<&str> = joined.split(SEP).collect();
    Geo::from_lookup(|name| {
        let i = NAMES.iter().position(|n| *n == name)?;
        values.get(i).map(|v| v.to_string())
    })
}

/// A response with a text body; `headers` are (name, value) pairs. Values must not hold NUL
/// (ours never do: they are constants, validated ids or numbers).
pub fn respond(
    status: u16,
    body: &str,
    headers: &[(&str, &str)],
) -> worker::Result<web_sys::Response> {
    let mut joined = String::with_capacity(256);
    for (name, value) in headers {
        joined.push_str(name);
        joined.push(SEP);
        joined.push_str(value);
        joined.push(SEP);
    }
    respond_js(status, body, &joined).map_err(worker::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_split_into_their_fields() {
        let facts =
            RequestFacts::parse("GET\0http://h/ping?x=1\0req-1\0IT\0Rome\0FCO\0EU\041.89\012.49");
        assert_eq!(facts.method, "GET");
        assert_eq!(facts.url, "http://h/ping?x=1");
        assert_eq!(facts.request_id, "req-1");
        assert_eq!(facts.geo.city.as_deref(), Some("Rome"));
        assert_eq!(facts.geo.longitude.as_deref(), Some("12.49"));
        assert_eq!(facts.geo.continent.as_deref(), Some("EU"));
    }

    #[test]
    fn missing_or_short_facts_are_empty_not_a_panic() {
        let facts = RequestFacts::parse("GET\0http://h/ping\0id\0\0\0\0\0\0");
        assert_eq!(facts.geo, Geo::default());
        let short = RequestFacts::parse("GET");
        assert_eq!((short.url.as_str(), short.geo.country), ("", None));
        assert_eq!(RequestFacts::parse(""), RequestFacts::default());
    }
}
