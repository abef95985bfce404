//! MovR's journey through the edge, as a user in one city: every step timed at the client.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use reqwest::header::{HeaderMap, HeaderValue};
use roam_shared::headers::HOME_COOKIE;
use roam_stack::front::{cf_blob, simulated_client_address, Place, CF_BLOB, CLIENT_ADDRESS};
use serde_json::{json, Value};

/// Every bench user's password.
pub(super) const PASSWORD: &str = "correct horse battery staple";

/// The steps, in journey order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Step {
    SignUp,
    LogIn,
    ListVehicles,
    ListVehiclesAgain,
    AddVehicle,
    StartRide,
    EndRide,
    ListRides,
}

impl Step {
    pub(crate) const ALL: [Step; 8] = [
        Step::SignUp,
        Step::LogIn,
        Step::ListVehicles,
        Step::ListVehiclesAgain,
        Step::AddVehicle,
        Step::StartRide,
        Step::EndRide,
        Step::ListRides,
    ];

    pub(crate) fn label(self) -> &'static str {
        match self {
            Step::SignUp => "sign up",
            Step::LogIn => "log in",
            Step::ListVehicles => "list vehicles",
            Step::ListVehiclesAgain => "list vehicles again",
            Step::AddVehicle => "add vehicle",
            Step::StartRide => "start ride",
            Step::EndRide => "end ride",
            Step::ListRides => "list rides",
        }
    }
}

/// One timed step.
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    pub step: Step,
    pub took: Duration,
    /// The edge's `x-roam-cache` (hit, miss, stale, bypass).
    pub cache: String,
    /// The email signed up with (its claim region matters to sign-up and log-in).
    pub email: String,
    /// The edge's `server-timing` `origin` duration: time spent waiting on origins.
    pub origin_ms: Option<f64>,
    /// The edge's `server-timing` `edge` duration: its own time.
    pub edge_ms: Option<f64>,
    /// The origin's `server-timing` `app` duration: its own time on the request, by its own
    /// clock (the edge's moves in whole milliseconds).
    pub app_ms: Option<f64>,
}

/// A client that is a user at `place`, talking to `edge` (base URL).
pub(super) struct User {
    client: reqwest::Client,
    edge: String,
    place: Place,
}

impl User {
    pub(super) fn new(edge: String, place: Place) -> Result<Self> {
        let mut headers = HeaderMap::new();
        headers.insert(CF_BLOB, HeaderValue::from_str(&cf_blob(&place, ""))?);
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(4)
            .pool_idle_timeout(roam_stack::edge::CLIENT_IDLE_REUSE)
            .build()?;
        Ok(Self {
            client,
            edge,
            place,
        })
    }

    /// One journey; `tag` makes the email unique.
    pub(super) async fn journey(&self, tag: &str) -> Result<Vec<Sample>> {
        let city = self.place.slug.clone();
        let email = format!("bench-{tag}@example.com");
        let password = PASSWORD;
        let mut samples = Vec::new();
        let mut timed = |step: Step, timing: Timing| {
            samples.push(Sample {
                step,
                took: timing.took,
                cache: timing.cache,
                email: email.clone(),
                origin_ms: timing.origin_ms,
                edge_ms: timing.edge_ms,
                app_ms: timing.app_ms,
            });
        };

        let sign_up =
            json!({"email": email, "name": "Bench User", "password": password, "city": city});
        let (timing, _) = self
            .send(self.post("/api/v1/users", None, &sign_up))
            .await?;
        timed(Step::SignUp, timing);

        let log_in = json!({"email": email, "password": password});
        let (timing, session) = self
            .send(self.post("/api/v1/sessions", None, &log_in))
            .await?;
        timed(Step::LogIn, timing);
        let token = text(&session, "token")?;

        let list = format!("/api/v1/cities/{city}/vehicles?status=available");
        for step in [Step::ListVehicles, Step::ListVehiclesAgain] {
            let (timing, _) = self.send(self.client.get(self.url(&list))).await?;
            timed(step, timing);
        }

        let vehicle = json!({"type": "scooter", "last_location": "Bench Square 1", "color": "red"});
        let path = format!("/api/v1/cities/{city}/vehicles");
        let (timing, vehicle) = self.send(self.post(&path, Some(&token), &vehicle)).await?;
        timed(Step::AddVehicle, timing);

        let ride = json!({"vehicle_id": text(&vehicle, "id")?});
        let path = format!("/api/v1/cities/{city}/rides");
        let (timing, ride) = self.send(self.post(&path, Some(&token), &ride)).await?;
        timed(Step::StartRide, timing);

        let end = json!({"location": "Bench Square 2"});
        let path = format!("/api/v1/cities/{city}/rides/{}/end", text(&ride, "id")?);
        let (timing, _) = self.send(self.post(&path, Some(&token), &end)).await?;
        timed(Step::EndRide, timing);

        let rides = self
            .client
            .get(self.url("/api/v1/me/rides"))
            .bearer_auth(&token);
        let (timing, _) = self.send(rides).await?;
        timed(Step::ListRides, timing);
        Ok(samples)
    }

    /// Logs in as `email` (signed up elsewhere: a traveller), with the edge's home cookie for
    /// `home_city` or without one: (time at the client, the edge's origin time).
    pub(super) async fn log_in_as(
        &self,
        email: &str,
        password: &str,
        home_city: Option<&str>,
    ) -> Result<(Duration, Option<f64>)> {
        let body = json!({"email": email, "password": password});
        let mut request = self.post("/api/v1/sessions", None, &body);
        if let Some(city) = home_city {
            request = request.header("cookie", format!("{HOME_COOKIE}={city}"));
        }
        let (timing, _) = self.send(request).await?;
        Ok((timing.took, timing.origin_ms))
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.edge)
    }

    /// A POST from an address of its own: the bench stands for many people, and the edge's
    /// per-address limits on sign-up and log-in would otherwise refuse its journeys.
    fn post(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::RequestBuilder {
        let request = self
            .client
            .post(self.url(path))
            .header(CLIENT_ADDRESS, simulated_client_address())
            .json(body);
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends, reads the whole body, and times both; fails on anything but 2xx.
    async fn send(&self, request: reqwest::RequestBuilder) -> Result<(Timing, Value)> {
        let request = request.build()?;
        let what = format!("{} {}", request.method(), request.url().path());
        let started = Instant::now();
        let response = self.client.execute(request).await.context(what.clone())?;
        let status = response.status();
        let cache = response
            .headers()
            .get("x-roam-cache")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_string();
        let timing = response
            .headers()
            .get("server-timing")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = response.bytes().await.context(what.clone())?;
        let took = started.elapsed();
        if !status.is_success() {
            bail!("{what}: {status}: {}", String::from_utf8_lossy(&body));
        }
        let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let timing = Timing {
            took,
            cache,
            origin_ms: duration(&timing, "origin"),
            edge_ms: duration(&timing, "edge"),
            app_ms: duration(&timing, "app"),
        };
        Ok((timing, value))
    }
}

/// How long a step took at the client, and what the answer's headers said of it.
struct Timing {
    took: Duration,
    /// The edge's cache verdict.
    cache: String,
    /// The edge's wait on origins, its own time, and the origin's own time.
    origin_ms: Option<f64>,
    edge_ms: Option<f64>,
    app_ms: Option<f64>,
}

/// `<name>;dur=12.3` out of a `server-timing` value.
fn duration(header: &str, name: &str) -> Option<f64> {
    header.split(',').find_map(|metric| {
        let mut parts = metric.split(';').map(str::trim);
        (parts.next()? == name)
            .then(|| parts.find_map(|p| p.strip_prefix("dur=")?.parse().ok()))
            .flatten()
    })
}

fn text(value: &Value, field: &str) -> Result<String> {
    value
        .get(field)
        .and_then(Value::as_str)
        .map(str::to_string)
        .with_context(|| format!("response has no `{field}`: {value}"))
}
