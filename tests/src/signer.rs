//! One request signer: talks to an origin directly, as the edge would (or, on purpose, as it
//! would not: unsigned, another key, replayed, tampered).

use roam_shared::signature::{self, SharedSecret, SignedParts};
use roam_stack::Stack;
use serde_json::json;

use crate::raw::{pairs, request_bytes, send_raw, Raw};

/// How a request to an origin is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    /// As the edge signs: now, with the shared secret.
    Valid,
    /// No signature headers at all.
    Missing,
    /// Signed with a key that is not the shared secret.
    OtherKey,
    /// A valid signature from `secs` seconds ago (a replay).
    Replayed(i64),
    /// Signed, then the body changed.
    TamperedBody,
    /// Signed, then `x-roam-city` changed.
    TamperedTag,
}

/// Talks to an origin directly, as the edge would.
#[derive(Debug, Clone)]
pub struct Signer {
    /// Origin base URL.
    pub base: String,
    /// The shared secret.
    pub secret: SharedSecret,
}

impl Signer {
    /// A signer for `base` with `secret`.
    pub fn new(base: &str, secret: &str) -> Self {
        Self {
            base: base.to_string(),
            secret: SharedSecret::parse(secret).expect("a valid secret"),
        }
    }

    /// A signer for `region`'s (first) origin in `stack`, with the stack's secret.
    pub fn for_origin(stack: &Stack, region: &str) -> Self {
        let origin = stack
            .origin(region)
            .unwrap_or_else(|| panic!("no origin for {region}"));
        Self::new(&origin.url(), &stack.options.secret)
    }

    /// Sends a request to the origin with the headers an edge would send for a user in Rome
    /// (geo tags) plus `extra`, signed per `signing` over `method`, `target` and `body`.
    pub async fn send(
        &self,
        method: &str,
        target: &str,
        body: &[u8],
        extra: &[(String, String)],
        signing: Signing,
    ) -> Raw {
        let mut headers: Vec<(String, String)> = vec![
            ("x-roam-country".into(), "IT".into()),
            ("x-roam-city".into(), "Rome".into()),
            ("x-roam-colo".into(), "FCO".into()),
            ("x-roam-region".into(), "eu-west".into()),
        ];
        headers.extend(extra.iter().cloned());
        let timestamp = signing.timestamp(unix_now());
        let parts = SignedParts {
            method,
            path_and_query: target,
            timestamp,
            body_sha256: signature::body_digest(body),
            headers: headers
                .iter()
                .filter(|(n, _)| signature::is_signed_header(n))
                .cloned()
                .collect(),
        };
        let sig = signature::sign(&signing.key(&self.secret), &parts);
        if signing == Signing::TamperedTag {
            for (name, value) in &mut headers {
                if name == "x-roam-city" {
                    *value = "Paris".into();
                }
            }
        }
        if signing != Signing::Missing {
            headers.push(("x-roam-timestamp".into(), timestamp.to_string()));
            headers.push(("x-roam-signature".into(), sig));
        }
        let sent_body = signing.body_sent(body);
        send_raw(
            &self.base,
            &request_bytes(method, target.as_bytes(), &headers, &sent_body),
        )
        .await
    }

    /// Adds a bike in Rome at `marker` for the user of `token`, under the idempotency key
    /// `key`: the write the edge would forward, signed per `signing`.
    pub async fn add_rome_bike(
        &self,
        token: &str,
        marker: &str,
        key: &str,
        signing: Signing,
    ) -> Raw {
        let vehicle = json!({"type": "bike", "last_location": marker});
        let body = serde_json::to_vec(&vehicle).expect("JSON");
        let headers = pairs(&[
            ("content-type", "application/json"),
            ("authorization", &format!("Bearer {token}")),
            ("idempotency-key", key),
        ]);
        let target = "/api/v1/cities/rome/vehicles";
        self.send("POST", target, &body, &headers, signing).await
    }
}

impl Signing {
    /// The timestamp signed, `now` being the real one.
    fn timestamp(self, now: i64) -> i64 {
        match self {
            Signing::Replayed(secs) => now - secs,
            _ => now,
        }
    }

    /// The key signed with, `shared` being the shared secret.
    fn key(self, shared: &SharedSecret) -> SharedSecret {
        match self {
            Signing::OtherKey => {
                SharedSecret::parse("an-attacker-guessed-this-secret").expect("ok")
            }
            _ => shared.clone(),
        }
    }

    /// The body sent: a space more than was signed when tampered with.
    fn body_sent(self, body: &[u8]) -> Vec<u8> {
        let mut sent = body.to_vec();
        if self == Signing::TamperedBody {
            sent.extend_from_slice(b" ");
        }
        sent
    }
}

/// Seconds since the epoch, as signatures and tokens count time.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}
