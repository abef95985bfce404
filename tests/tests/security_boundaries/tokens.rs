//! Session tokens: one signed with another key, expired, altered or malformed is refused at
//! the edge (as a bearer token and as a cookie) and at an origin.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::Method;
use roam_e2e::client::User;
use roam_e2e::place::ROME;
use roam_e2e::raw::pairs;
use roam_e2e::signer::{unix_now, Signer, Signing};
use roam_shared::signature::SharedSecret;
use roam_shared::token::{self, SessionClaims};
use serde_json::json;

use crate::{world, PASSWORD};

#[tokio::test(flavor = "multi_thread")]
async fn tokens_signed_with_another_key_expired_or_altered_are_refused() {
    let world = world().await;
    let real = world.signed_in(ROME, "holder", PASSWORD).await;
    let token = real.token.clone().expect("a token");
    let secret = SharedSecret::parse(&world.stack.options.secret).expect("the secret");
    let signer = world.signer("eu-west");
    for (name, bad) in &bad_tokens(&token, &secret) {
        refused_everywhere(&real, &signer, name, bad).await;
    }
    // The real one works, so the refusals above are the tokens' doing.
    real.get("/api/v1/me/rides").await.expect(200);
}

/// Bad variants of the valid `token`, by name.
fn bad_tokens(token: &str, secret: &SharedSecret) -> [(&'static str, String); 7] {
    let claims = token::verify(&secret.clone().into(), token, unix_now()).expect("a valid token");
    let other_key = SharedSecret::parse("somebody-elses-secret-entirely").expect("a secret");
    let another_key = token::issue(&other_key, &claims);
    let expired = SessionClaims {
        iat: unix_now() - 7_200,
        exp: unix_now() - 3_600,
        ..claims.clone()
    };
    let expired = token::issue(secret, &expired);
    // The same tag over other claims: another user, another home city.
    let mut pieces = token.rsplitn(3, '.');
    let (tag, _, version_and_key) = (
        pieces.next().expect("a tag"),
        pieces.next().expect("claims"),
        pieces.next().expect("a version and key id"),
    );
    let altered_claims = SessionClaims {
        sub: uuid_sub(),
        city: "paris".into(),
        ..claims
    };
    let altered = format!(
        "{version_and_key}.{}.{tag}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&altered_claims).expect("JSON"))
    );
    let body_only = token
        .rsplit_once('.')
        .map(|(b, _)| format!("{b}."))
        .expect("a body");
    let flipped = {
        let mut t = token.to_string().into_bytes();
        let i = t.len() - 3;
        t[i] = if t[i] == b'A' { b'B' } else { b'A' };
        String::from_utf8(t).expect("ASCII")
    };
    [
        ("another key", another_key),
        ("expired", expired),
        ("altered claims", altered),
        ("no tag", body_only),
        ("flipped tag", flipped),
        ("garbage", "v1.garbage".to_string()),
        ("too long", format!("v1.{}", "A".repeat(5_000))),
    ]
}

/// `bad` (named `name`) is refused with 401 as `real`'s bearer token for a write and a read,
/// as a cookie, and straight at an origin in a request the edge validly signed.
async fn refused_everywhere(real: &User, signer: &Signer, name: &str, bad: &str) {
    let mut user = real.clone();
    user.token = Some(bad.to_string());
    let write = user
        .post(
            "/api/v1/cities/rome/vehicles",
            &json!({"type": "bike", "last_location": format!("token-{name}")}),
        )
        .await;
    assert_eq!(write.status.as_u16(), 401, "{name}: {write:#?}");
    assert_eq!(write.header("content-type"), "application/problem+json");
    let read = user.get("/api/v1/me/rides").await;
    assert_eq!(read.status.as_u16(), 401, "{name}: {read:#?}");
    // As a cookie, the browser's way.
    let mut anonymous = real.clone();
    anonymous.token = None;
    let cookie = format!("roam_session={bad}");
    let read = anonymous
        .send(
            Method::GET,
            "/api/v1/me/rides",
            None,
            &[("cookie", &cookie)],
        )
        .await;
    assert_eq!(read.status.as_u16(), 401, "{name} (cookie): {read:#?}");
    // Straight at an origin, validly signed by the edge: still refused.
    let direct = signer
        .send(
            "GET",
            "/api/v1/me/rides",
            b"",
            &pairs(&[("authorization", &format!("Bearer {bad}"))]),
            Signing::Valid,
        )
        .await;
    assert_eq!(direct.status, 401, "{name} (origin)");
}

fn uuid_sub() -> uuid::Uuid {
    uuid::Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef)
}
