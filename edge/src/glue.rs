//! The edge's hot paths cross into JavaScript as few times as they can: one call reads what a
//! request says about itself ([`RequestFacts`]), one builds a response ([`respond`] and its
//! siblings), one reads a cache entry's metadata ([`entry_facts`]).
//! The `worker` crate's wrappers cross once per value and build a JavaScript object for each
//! (and `worker::Request::from` reads `request.cf`, which workerd rebuilds from its JSON on
//! every read). The bench's notes give what each step of this cut, measured. The JavaScript
//! half is `glue.js`.

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use worker::worker_sys::web_sys;

use crate::cf::Geo;

#[wasm_bindgen(module = "/src/glue.js")]
extern "C" {
    #[wasm_bindgen(js_name = requestFacts)]
    fn request_facts(request: &web_sys::Request) -> String;
    #[wasm_bindgen(js_name = requestHeaders)]
    fn request_headers_js(request: &web_sys::Request) -> String;
    #[wasm_bindgen(js_name = respond, catch)]
    fn respond_text_js(
        status: u16,
        body: &str,
        headers: &str,
    ) -> Result<web_sys::Response, JsValue>;
    #[wasm_bindgen(js_name = respondBytes, catch)]
    fn respond_bytes_js(
        status: u16,
        body: &[u8],
        headers: &str,
    ) -> Result<web_sys::Response, JsValue>;
    #[wasm_bindgen(js_name = respondEmpty, catch)]
    fn respond_empty_js(status: u16, headers: &str) -> Result<web_sys::Response, JsValue>;
    #[wasm_bindgen(js_name = respondFrom, catch)]
    fn respond_from_js(
        status: u16,
        source: &web_sys::Response,
        headers: &str,
    ) -> Result<web_sys::Response, JsValue>;
    #[wasm_bindgen(js_name = cacheMatch, catch)]
    fn cache_match_js(key: &str) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(js_name = entryFacts)]
    fn entry_facts_js(response: &web_sys::Response, names: &str) -> String;
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
    /// The client's `traceparent`, empty when it sent none (parsed by [`crate::trace`]).
    pub traceparent: String,
    /// Where the user is.
    pub geo: Geo,
}

impl RequestFacts {
    /// Reads the request's method, URL, request id, `traceparent` and `request.cf`.
    pub fn read(request: &web_sys::Request) -> Self {
        Self::parse(&request_facts(request))
    }

    /// Parses what `requestFacts` returns (the testable core of [`RequestFacts::read`]).
    pub fn parse(joined: &str) -> Self {
        let mut fields = joined.splitn(5, SEP);
        let mut next = || fields.next().unwrap_or_default().to_string();
        let (method, url, request_id, traceparent) = (next(), next(), next(), next());
        Self {
            method,
            url,
            request_id,
            traceparent,
            geo: parse_geo(&next()),
        }
    }
}

/// Every request header as (name, value), names lowercase: one crossing.
pub fn request_headers(request: &web_sys::Request) -> Vec<(String, String)> {
    pairs(request_headers_js(request).split(SEP))
}

/// name, value, name, value, … → (name, value) pairs (a trailing lone field is dropped).
fn pairs<'a>(mut fields: impl Iterator<Item = &'a str>) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    while let (Some(name), Some(value)) = (fields.next(), fields.next()) {
        pairs.push((name.to_string(), value.to_string()));
    }
    pairs
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

/// Headers as `respond*` in glue.js take them: name, value, name, value, … NUL-separated
/// (the values are checked free of NUL by [`crate::response::HeaderList`]).
fn join_headers(headers: &[(&str, &str)]) -> String {
    let mut joined = String::with_capacity(256);
    for (name, value) in headers {
        joined.push_str(name);
        joined.push(SEP);
        joined.push_str(value);
        joined.push(SEP);
    }
    joined
}

/// A response with a text body.
pub fn respond(
    status: u16,
    body: &str,
    headers: &[(&str, &str)],
) -> worker::Result<web_sys::Response> {
    respond_text_js(status, body, &join_headers(headers)).map_err(worker::Error::from)
}

/// A response with a byte body (copied out of Wasm memory).
pub fn respond_bytes(
    status: u16,
    body: &[u8],
    headers: &[(&str, &str)],
) -> worker::Result<web_sys::Response> {
    respond_bytes_js(status, body, &join_headers(headers)).map_err(worker::Error::from)
}

/// A response without a body.
pub fn respond_empty(status: u16, headers: &[(&str, &str)]) -> worker::Result<web_sys::Response> {
    respond_empty_js(status, &join_headers(headers)).map_err(worker::Error::from)
}

/// A response carrying `source`'s body, unread.
pub fn respond_from(
    status: u16,
    source: &web_sys::Response,
    headers: &[(&str, &str)],
) -> worker::Result<web_sys::Response> {
    respond_from_js(status, source, &join_headers(headers)).map_err(worker::Error::from)
}

/// `caches.default.match(key)`: the entry's response, if there is one.
pub async fn cache_match(key: &str) -> worker::Result<Option<web_sys::Response>> {
    let promise = cache_match_js(key)?;
    let found = wasm_bindgen_futures::JsFuture::from(promise).await?;
    if found.is_undefined() || found.is_null() {
        return Ok(None);
    }
    Ok(Some(found.unchecked_into()))
}

/// A cache entry's status and those of `names` it has, as (name, value) pairs: one crossing.
pub fn entry_facts(response: &web_sys::Response, names: &[&str]) -> (u16, Vec<(String, String)>) {
    let joined = entry_facts_js(response, &names.join("\0"));
    let mut fields = joined.split(SEP);
    let status = fields
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_default();
    (status, pairs(fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_split_into_their_fields() {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let facts = RequestFacts::parse(&format!(
            "GET\0http://h/ping?x=1\0req-1\0{tp}\0IT\0Rome\0FCO\0EU\x0041.89\x0012.49"
        ));
        assert_eq!(facts.method, "GET");
        assert_eq!(facts.url, "http://h/ping?x=1");
        assert_eq!(facts.request_id, "req-1");
        assert_eq!(facts.traceparent, tp);
        assert_eq!(facts.geo.city.as_deref(), Some("Rome"));
        assert_eq!(facts.geo.longitude.as_deref(), Some("12.49"));
        assert_eq!(facts.geo.continent.as_deref(), Some("EU"));
    }

    #[test]
    fn fields_pair_up_and_a_lone_one_is_dropped() {
        let joined = "a\x001\x00b\x00\x00c";
        assert_eq!(
            pairs(joined.split(SEP)),
            [("a".into(), "1".into()), ("b".into(), String::new())]
        );
    }

    #[test]
    fn missing_or_short_facts_are_empty_not_a_panic() {
        let facts = RequestFacts::parse("GET\0http://h/ping\0id\0\0\0\0\0\0\0");
        assert_eq!(facts.geo, Geo::default());
        assert_eq!(facts.traceparent, "");
        let short = RequestFacts::parse("GET");
        assert_eq!((short.url.as_str(), short.geo.country), ("", None));
        assert_eq!(RequestFacts::parse(""), RequestFacts::default());
    }
}
