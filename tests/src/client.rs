//! A browser-less user of the edge: a place, an address of its own, and a session once logged
//! in; and the answers it reads.

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, StatusCode};
use roam_stack::edge::CLIENT_IDLE_REUSE;
use roam_stack::front::{simulated_client_address, CLIENT_ADDRESS};
use serde_json::{json, Value};

use crate::place::Place;

/// An answer, read in full.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: StatusCode,
    /// Every header.
    pub headers: HeaderMap,
    /// The body as JSON (a JSON string when it is not JSON, Null when empty).
    pub body: Value,
}

impl Answer {
    /// A header's value ("" when absent).
    pub fn header(&self, name: &str) -> &str {
        header_text(&self.headers, name)
    }

    /// Panics with the whole answer unless the status is `expected`.
    pub fn expect(self, expected: u16) -> Self {
        assert_eq!(
            self.status.as_u16(),
            expected,
            "unexpected answer: {self:#?}"
        );
        self
    }
}

/// A user of the edge at `base`: signed in once `token` is set.
#[derive(Debug, Clone)]
pub struct User {
    /// The client it sends with (30 s timeout).
    pub http: reqwest::Client,
    /// The edge, `http://127.0.0.1:port`.
    pub base: String,
    /// Where the user is.
    pub place: Place,
    /// The session token, once logged in.
    pub token: Option<String>,
    /// The address the edge sees this user at (its per-address limits count by it).
    pub address: String,
}

impl User {
    /// An anonymous user at `place` talking to the edge at `base`.
    pub fn new(base: &str, place: Place) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_idle_timeout(CLIENT_IDLE_REUSE)
            .build()
            .expect("an HTTP client");
        Self {
            http,
            base: base.to_string(),
            place,
            token: None,
            address: simulated_client_address(),
        }
    }

    /// A fresh account (a unique email made from `who`) at `place`, signed up and logged in.
    pub async fn signed_in(base: &str, place: Place, who: &str, password: &str) -> Self {
        let mut user = Self::new(base, place);
        user.sign_up_and_log_in(who, password).await;
        user
    }

    /// A request as this user sends it: its place, its address, its token if any, and no
    /// compression (the tests read bodies as they are).
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("accept-encoding", "identity")
            .header("mf-cf-blob", self.place.blob)
            .header(CLIENT_ADDRESS, &self.address);
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends a request (JSON body if any, extra headers) and reads the answer. Panics when no
    /// answer comes.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = self.request(method.clone(), path);
        if let Some(body) = body {
            request = request.json(body);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("a body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    /// A GET.
    pub async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, None, &[]).await
    }

    /// A POST of a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send(Method::POST, path, Some(body), &[]).await
    }

    /// A DELETE.
    pub async fn delete(&self, path: &str) -> Answer {
        self.send(Method::DELETE, path, None, &[]).await
    }

    /// A GET that presents the read-your-writes bookmark `write` returned.
    pub async fn get_after(&self, path: &str, write: &Answer) -> Answer {
        let bookmark = write.header("x-roam-bookmark");
        self.send(Method::GET, path, None, &[("x-roam-bookmark", bookmark)])
            .await
    }

    /// Adds a bike in `city` at `location` (tests also use a location as a marker that finds
    /// the vehicle's row); expects 201.
    pub async fn add_bike(&self, city: &str, location: &str) -> Answer {
        let vehicle = json!({"type": "bike", "last_location": location});
        self.post(&format!("/api/v1/cities/{city}/vehicles"), &vehicle)
            .await
            .expect(201)
    }

    /// Starts a ride in `city` on the vehicle `added` answered with; expects 201.
    pub async fn start_ride(&self, city: &str, added: &Answer) -> Answer {
        let ride = json!({"vehicle_id": added.body["id"]});
        self.post(&format!("/api/v1/cities/{city}/rides"), &ride)
            .await
            .expect(201)
    }

    /// Logs in as `email` (expecting 200): afterwards every request carries the session's
    /// token. Returns the log-in's answer.
    pub async fn log_in(&mut self, email: &str, password: &str) -> Answer {
        let credentials = json!({"email": email, "password": password});
        let session = self
            .post("/api/v1/sessions", &credentials)
            .await
            .expect(200);
        self.token = session.body["token"].as_str().map(str::to_string);
        assert!(self.token.is_some(), "a session token: {:#?}", session.body);
        session
    }

    /// Signs up a fresh account (a unique email made from `who`) and logs in: afterwards
    /// every request carries its token. Returns the signed-up user's body.
    pub async fn sign_up_and_log_in(&mut self, who: &str, password: &str) -> Value {
        let email = email(who);
        let user = self
            .post(
                "/api/v1/users",
                &json!({"email": email, "name": who, "password": password}),
            )
            .await
            .expect(201);
        self.log_in(&email, password).await;
        user.body
    }
}

/// The value of the header `name` as text ("" when absent or not text).
pub fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// `name`'s entry (its health: breaker, origins) in a `/api/v1/regions` body; Null when absent.
pub fn region_entry<'a>(regions: &'a Value, name: &str) -> &'a Value {
    static ABSENT: Value = Value::Null;
    regions["regions"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["name"] == name))
        .unwrap_or(&ABSENT)
}

/// A unique email for this run.
pub fn email(who: &str) -> String {
    format!("{who}-{}@example.com", uuid_like())
}

/// A random-enough hex id without another dependency: markers and emails unique to a run.
pub fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{:x}{:x}", nanos, std::process::id())
}
