//! A client that signs requests the way the edge does (or, on purpose, does not), and the
//! API's requests by name.

use std::fmt::Display;

use roam_shared::signature::{self, SharedSecret, SignedParts, DEV_SECRET};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{TestOrigin, PASSWORD};

/// How a request is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signing {
    Valid,
    Missing,
    /// Signed with another secret.
    Forged,
    /// Signed two minutes ago.
    Stale,
    /// Signed, then the body changed.
    TamperedBody,
    /// Signed, then a geo tag changed.
    TamperedHeader,
}

pub(crate) struct Req {
    client: reqwest::Client,
    address: String,
    method: &'static str,
    path: String,
    body: Vec<u8>,
    content_type: Option<String>,
    headers: Vec<(String, String)>,
    signing: Signing,
}

pub(crate) struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `id` of the created resource.
    pub(crate) fn id(&self) -> Uuid {
        self.json()["id"].as_str().unwrap().parse().unwrap()
    }
}

/// The API's requests by name, unsent (add a token, a key, a header; then `send`).
impl TestOrigin {
    /// A sign-up of `email` as `name`, at home in `city`.
    pub(crate) fn sign_up(&self, email: &str, name: &str, city: &str) -> Req {
        let body = json!({"email": email, "name": name, "password": PASSWORD, "city": city});
        self.post("/api/v1/users", body)
    }

    pub(crate) fn log_in(&self, email: &str, password: &str) -> Req {
        self.post(
            "/api/v1/sessions",
            json!({"email": email, "password": password}),
        )
    }

    /// Ends the session of the token it is sent with.
    pub(crate) fn log_out(&self) -> Req {
        self.request("DELETE", "/api/v1/sessions")
    }

    /// Ends every session of the token's user.
    pub(crate) fn log_out_everywhere(&self) -> Req {
        self.request("DELETE", "/api/v1/me/sessions")
    }

    /// A new vehicle of `kind` at `location` in `city`.
    pub(crate) fn add_vehicle(&self, city: &str, kind: &str, location: &str) -> Req {
        let body = json!({"type": kind, "last_location": location});
        self.post(&format!("/api/v1/cities/{city}/vehicles"), body)
    }

    pub(crate) fn start_ride(&self, city: &str, vehicle: Uuid) -> Req {
        self.post(
            &format!("/api/v1/cities/{city}/rides"),
            json!({"vehicle_id": vehicle}),
        )
    }

    pub(crate) fn end_ride(&self, city: &str, ride: impl Display, location: &str) -> Req {
        self.post(
            &format!("/api/v1/cities/{city}/rides/{ride}/end"),
            json!({"location": location}),
        )
    }

    /// The signed-in user's rides.
    pub(crate) fn my_rides(&self, token: &str) -> Req {
        self.get("/api/v1/me/rides").token(token)
    }
}

impl Req {
    pub(crate) fn new(origin: &TestOrigin, method: &'static str, path: &str) -> Self {
        let mut headers = vec![
            ("x-roam-country".to_string(), "US".to_string()),
            ("x-roam-colo".to_string(), "IAD".to_string()),
        ];
        if method != "GET" {
            headers.push(("idempotency-key".into(), Uuid::new_v4().to_string()));
        }
        Self {
            client: origin.client(),
            address: origin.address.clone(),
            method,
            path: path.to_string(),
            body: Vec::new(),
            content_type: None,
            headers,
            signing: Signing::Valid,
        }
    }

    pub(crate) fn body(mut self, body: Vec<u8>, content_type: &str) -> Self {
        self.body = body;
        self.content_type = Some(content_type.to_string());
        self
    }

    pub(crate) fn no_content_type(mut self) -> Self {
        self.content_type = None;
        self
    }

    pub(crate) fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.retain(|(n, _)| n != name);
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub(crate) fn key(self, key: &str) -> Self {
        self.header("idempotency-key", key)
    }

    pub(crate) fn token(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    pub(crate) fn signing(mut self, signing: Signing) -> Self {
        self.signing = signing;
        self
    }

    pub(crate) async fn send(self) -> Resp {
        let now = chrono::Utc::now().timestamp();
        let timestamp = if self.signing == Signing::Stale {
            now - 120
        } else {
            now
        };
        let secret = match self.signing {
            Signing::Forged => SharedSecret::parse("not-the-shared-secret-at-all").unwrap(),
            _ => SharedSecret::parse(DEV_SECRET).unwrap(),
        };
        let signed_headers: Vec<(String, String)> = self
            .headers
            .iter()
            .filter(|(n, _)| signature::is_signed_header(n))
            .cloned()
            .collect();
        let parts = SignedParts {
            method: self.method,
            path_and_query: &self.path,
            timestamp,
            body_sha256: signature::body_digest(&self.body),
            headers: signed_headers,
        };
        let sig = signature::sign(&secret, &parts);
        let method = reqwest::Method::from_bytes(self.method.as_bytes()).unwrap();
        let mut request = self
            .client
            .request(method, format!("{}{}", self.address, self.path));
        for (name, value) in &self.headers {
            let value = if self.signing == Signing::TamperedHeader && name == "x-roam-country" {
                "IT".to_string()
            } else {
                value.clone()
            };
            request = request.header(name, value);
        }
        if self.signing != Signing::Missing {
            request = request
                .header("x-roam-timestamp", timestamp.to_string())
                .header("x-roam-signature", sig);
        }
        if let Some(ct) = &self.content_type {
            request = request.header("content-type", ct);
        }
        let mut body = self.body;
        if self.signing == Signing::TamperedBody {
            body.extend_from_slice(b" ");
        }
        let response = request.body(body).send().await.expect("request failed");
        Resp {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.bytes().await.expect("body").to_vec(),
        }
    }
}

/// Asserts a problem+json error of `status`.
pub(crate) fn assert_problem(r: &Resp, status: u16, context: &str) {
    assert_eq!(r.status, status, "{context}: {}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "{context}: content type"
    );
    assert_eq!(r.json()["status"], status, "{context}: body {}", r.text());
}

/// Asserts every one of `responses` is a 201 with the first one's body: one effect, one answer.
#[track_caller]
pub(crate) fn assert_all_one_201(responses: &[Resp]) {
    for r in responses {
        assert_eq!(
            (r.status, &r.body),
            (201, &responses[0].body),
            "{}",
            r.text()
        );
    }
}
