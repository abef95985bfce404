//! The edge's own response type: status, headers and body are put together in Rust and handed
//! to workerd in one call into JavaScript ([`Response::into_js`], through [`crate::glue`]).
//! The `worker` crate's `Response` crosses into JavaScript for every header set and again to
//! build its `ResponseInit`; on a cache hit that was a dozen crossings for one answer.

use worker::worker_sys::web_sys;

use crate::error::{EdgeError, Result};
use crate::glue;

/// A response's headers, in order; names as given (HTTP names are case-insensitive).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderList(Vec<(String, String)>);

impl HeaderList {
    /// Sets `name` to `value`, replacing any value it had.
    pub fn set(&mut self, name: &str, value: &str) -> Result<()> {
        check(name, value)?;
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.0.push((name.to_string(), value.to_string()));
        Ok(())
    }

    /// Adds a value of `name` (e.g. a second `set-cookie`).
    pub fn append(&mut self, name: &str, value: &str) -> Result<()> {
        check(name, value)?;
        self.0.push((name.to_string(), value.to_string()));
        Ok(())
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every (name, value) pair.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

/// What workerd's `Headers` would refuse (a NUL also separates the fields on the way out).
fn check(name: &str, value: &str) -> Result<()> {
    let bad_name = name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':');
    if bad_name || value.contains(['\0', '\r', '\n']) {
        return Err(EdgeError::Internal(format!("invalid header {name:?}")));
    }
    Ok(())
}

/// A response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// No body (required for 204 and 304).
    Empty,
    /// UTF-8 text (JSON).
    Text(String),
    /// Bytes (an origin's answer).
    Bytes(Vec<u8>),
    /// The body of a response workerd already holds (a cache entry), passed on unread.
    From(web_sys::Response),
}

/// A response on its way to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    status: u16,
    headers: HeaderList,
    body: Body,
}

impl Response {
    /// A response with `status`, no headers yet, and `body`.
    pub fn new(status: u16, body: Body) -> Self {
        Self {
            status,
            headers: HeaderList::default(),
            body,
        }
    }

    /// The status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderList {
        &self.headers
    }

    /// The headers, to change.
    pub fn headers_mut(&mut self) -> &mut HeaderList {
        &mut self.headers
    }

    /// The body.
    pub fn body(&self) -> &Body {
        &self.body
    }

    /// The JavaScript `Response` workerd sends: one call into JavaScript.
    pub fn into_js(self) -> Result<web_sys::Response> {
        let headers: Vec<(&str, &str)> = self.headers.iter().collect();
        let response = match &self.body {
            Body::Empty => glue::respond_empty(self.status, &headers),
            Body::Text(text) => glue::respond(self.status, text, &headers),
            Body::Bytes(bytes) => glue::respond_bytes(self.status, bytes, &headers),
            Body::From(source) => glue::respond_from(self.status, source, &headers),
        };
        Ok(response?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_replaces_any_case_and_append_adds() {
        let mut h = HeaderList::default();
        h.set("Content-Type", "text/plain").unwrap();
        h.set("content-type", "application/json").unwrap();
        h.append("set-cookie", "a=1").unwrap();
        h.append("set-cookie", "b=2").unwrap();
        assert_eq!(h.get("CONTENT-TYPE"), Some("application/json"));
        let cookies: Vec<&str> = h
            .iter()
            .filter(|(n, _)| *n == "set-cookie")
            .map(|(_, v)| v)
            .collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
    }

    #[test]
    fn headers_workerd_would_refuse_are_errors() {
        let mut h = HeaderList::default();
        for (name, value) in [
            ("x-a", "line\r\nbreak"),
            ("x-a", "nul\0"),
            ("", "v"),
            ("a b", "v"),
            ("a:b", "v"),
        ] {
            assert!(h.set(name, value).is_err(), "{name:?}: {value:?}");
        }
        assert!(h.iter().next().is_none());
    }
}
