//! What the edge end-to-end tests share: users somewhere on Earth (an `MF-CF-Blob` each), a
//! client that talks to an edge as one of them, and the stack + edge start-up.

#![allow(dead_code)] // each test binary uses its own part of this module

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use roam_stack::edge::{reap_group_when_gone, start_edge, EdgeOptions, EdgeProcess};
use roam_stack::front::{simulated_client_address, CLIENT_ADDRESS};
use roam_stack::stack::DATABASE;
use roam_stack::{Stack, StackOptions};
use serde_json::{json, Value};

/// A user's place, as workerd's local dev reads it from `MF-CF-Blob`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Place {
    /// The `request.cf` JSON.
    pub blob: &'static str,
    /// The city slug the user lives in.
    pub city: &'static str,
    /// Its home region.
    pub region: &'static str,
}

/// A user in Rome.
pub(crate) const ROME: Place = Place {
    blob: r#"{"country":"IT","city":"Rome","colo":"FCO","latitude":"41.89","longitude":"12.49"}"#,
    city: "rome",
    region: "eu-west",
};
/// A user in Los Angeles.
pub(crate) const LOS_ANGELES: Place = Place {
    blob: r#"{"country":"US","city":"Los Angeles","colo":"LAX","latitude":"34.05","longitude":"-118.24"}"#,
    city: "los-angeles",
    region: "us-west",
};
/// A user in New York.
pub(crate) const NEW_YORK: Place = Place {
    blob: r#"{"country":"US","city":"New York","colo":"EWR","latitude":"40.71","longitude":"-74.01"}"#,
    city: "new-york",
    region: "us-east",
};

/// An answer, read in full.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    /// A header's value ("" when absent).
    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Panics with the whole answer unless the status is `expected`.
    pub(crate) fn expect(self, expected: u16) -> Self {
        assert_eq!(
            self.status.as_u16(),
            expected,
            "unexpected answer: {self:#?}"
        );
        self
    }
}

/// A browser-less user of the edge: a place, and a session once logged in.
#[derive(Debug, Clone)]
pub(crate) struct User {
    pub http: reqwest::Client,
    pub base: String,
    pub place: Place,
    pub token: Option<String>,
    /// The address the edge sees this user at (its per-address limits count by it).
    pub address: String,
}

impl User {
    /// A user at `place` talking to the edge at `base`.
    pub(crate) fn new(base: &str, place: Place) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
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

    /// Sends a request (JSON body if any, extra headers) and reads the answer.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .header("accept-encoding", "identity")
            .header("mf-cf-blob", self.place.blob)
            .header(CLIENT_ADDRESS, &self.address);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
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

    pub(crate) async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, None, &[]).await
    }

    pub(crate) async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send(Method::POST, path, Some(body), &[]).await
    }

    /// A GET that presents the read-your-writes bookmark `write` returned.
    pub(crate) async fn get_after(&self, path: &str, write: &Answer) -> Answer {
        let bookmark = write.header("x-roam-bookmark");
        self.send(Method::GET, path, None, &[("x-roam-bookmark", bookmark)])
            .await
    }

    /// Signs up a fresh account (a unique email made from `who`) and logs in: afterwards
    /// every request carries its token. Returns the signed-up user's body.
    pub(crate) async fn sign_up_and_log_in(&mut self, who: &str, password: &str) -> Value {
        let email = email(who);
        let credentials = json!({"email": email, "password": password});
        let user = self
            .post(
                "/api/v1/users",
                &json!({"email": email, "name": who, "password": password}),
            )
            .await
            .expect(201);
        let session = self
            .post("/api/v1/sessions", &credentials)
            .await
            .expect(200);
        self.token = session.body["token"].as_str().map(str::to_string);
        assert!(self.token.is_some(), "a session token: {:#?}", session.body);
        user.body
    }
}

/// A unique email for this run.
pub(crate) fn email(who: &str) -> String {
    format!("{who}-{}@example.com", uuid_like())
}

/// A random-enough hex id without another dependency.
pub(crate) fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{:x}{:x}", nanos, std::process::id())
}

/// Starts a stack (PostgreSQL nodes + origins, with sample data) for this test binary.
pub(crate) async fn start_stack(name: &str) -> Stack {
    start_stack_for(StackOptions::for_tests(name)).await
}

/// Starts a stack as `options` say, its origins dying with this test binary.
pub(crate) async fn start_stack_for(options: StackOptions) -> Stack {
    let stack = match Stack::start(options).await {
        Ok(stack) => stack,
        Err(e) => panic!("could not start the stack: {e:#}"),
    };
    // Belt and braces for stacks kept in statics (never dropped): the origins die with us.
    for pgid in stack.origins.iter().filter_map(|o| o.pid()) {
        reap_group_when_gone(std::process::id(), pgid, None).expect("an origin reaper");
    }
    stack
}

/// Starts an edge (one PoP) in front of `origins`.
pub(crate) async fn start_edge_for(
    name: &str,
    origins: BTreeMap<String, String>,
    secret: &str,
) -> EdgeProcess {
    let options = EdgeOptions::new(name, origins, secret);
    match start_edge(options).await {
        Ok(edge) => edge,
        Err(e) => panic!("could not start the edge: {e:#}"),
    }
}

/// How many rows of `table` with `id` sit in region `region`'s node's own (local) partition.
pub(crate) async fn local_rows(stack: &Stack, region: &str, table: &str, id: &str) -> u32 {
    let node = stack
        .cluster
        .node(region)
        .unwrap_or_else(|| panic!("no node for {region}"));
    let partition = format!("{table}_{}", region.replace('-', "_"));
    let sql = format!("SELECT count(*) FROM \"{partition}\" WHERE id = '{id}'");
    let out = node
        .psql(&node.url(DATABASE), sql)
        .await
        .unwrap_or_else(|e| panic!("querying {partition} on {region}: {e:#}"));
    out.trim()
        .parse()
        .unwrap_or_else(|_| panic!("count from psql: {out}"))
}
