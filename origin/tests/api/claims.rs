//! Email claims under failure: an answer lost after the commit, an orphaned claim retried,
//! a claim in another's place when claims move, and a key rotation.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use roam_origin::schema::reconcile::reconcile_claims;
use roam_origin::Config;
use roam_shared::email_claim::ClaimKeys;
use roam_shared::email_claim::{claim_region, ClaimKey};
use roam_shared::RegionMap;
use roam_wan::Link;
use uuid::Uuid;

use crate::helpers::{
    assert_problem, email_claimed_on, fresh_email, spawn_stack, TestStack, PASSWORD, REGIONS,
};

fn hash(email: &str) -> String {
    ClaimKey::development().hash(email)
}

async fn claims_of(stack: &TestStack, region: &str, email_hash: &str) -> i64 {
    let filter = format!("email_hash = '{email_hash}'");
    stack.count_local(region, "email_claims", &filter).await
}

#[tokio::test]
async fn a_sign_up_whose_answer_is_lost_after_its_commit_keeps_the_claim() {
    let mut stack = spawn_stack().await;
    // eu-west's origin reaches us-east's node over a slow link that the test can cut.
    let node = SocketAddr::from(([127, 0, 0, 1], stack.node_port("us-east")));
    let link = Link::new(node)
        .rtt(Duration::from_millis(300))
        .start()
        .await
        .unwrap();
    let through_link = stack.database_url_at(link.addr().port());
    stack
        .peer_urls
        .insert(("eu-west".into(), "us-east".into()), through_link);
    stack.start_origins(RegionMap::builtin()).await;
    let email = email_claimed_on("us-west");
    let sign_up = |key: &'static str, via: &str| {
        stack
            .origin(via)
            .sign_up(&email, "Lost", "new-york")
            .key(key)
            .send()
    };
    let first = tokio::spawn(sign_up("lost-answer", "eu-west"));
    // The moment the user is committed on us-east, cut the link: its answer is on its way.
    let filter = format!("email = '{email}'");
    let deadline = Instant::now() + Duration::from_secs(30);
    while stack.count_local("us-east", "users", &filter).await == 0 {
        assert!(Instant::now() < deadline, "the user was never written");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    link.cut();
    let r = first.await.unwrap();
    assert_problem(&r, 503, "the answer was lost: the origin cannot know");
    link.restore();
    // The account exists, so its email must not be free.
    assert_eq!(
        claims_of(&stack, "us-west", &hash(&email)).await,
        1,
        "claim kept"
    );
    assert_problem(&sign_up("someone-else", "us-west").await, 409, "taken");
    // The client retries with its key and gets the answer of the sign-up that did happen
    // (the first statements after the cut may meet connections the cut broke: 503, retry).
    let deadline = Instant::now() + Duration::from_secs(30);
    let retry = loop {
        let r = sign_up("lost-answer", "eu-west").await;
        if r.status != 503 || Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(retry.status, 201, "{}", retry.text());
    assert_eq!(retry.header("idempotent-replay"), Some("true"));
    assert_eq!(stack.count_local("us-east", "users", &filter).await, 1);
    stack.cleanup().await;
}

#[tokio::test]
async fn a_retry_with_the_same_key_adopts_the_claim_its_first_attempt_left() {
    let stack = spawn_stack().await;
    let email = email_claimed_on("us-east");
    let first_attempt_user = Uuid::new_v4();
    // The first attempt claimed the email, then died before creating the user.
    sqlx::query(
        "INSERT INTO email_claims (region, email_hash, key_id, user_id, city, idempotency_key) \
         VALUES ('us-east', $1, 'dev', $2, 'rome', 'sign-up-1')",
    )
    .bind(hash(&email))
    .bind(first_attempt_user)
    .execute(stack.node("us-east"))
    .await
    .unwrap();
    let send = |key: &'static str| {
        stack
            .origin("eu-west")
            .sign_up(&email, "Again", "rome")
            .key(key)
            .send()
    };
    let r = send("sign-up-1").await;
    assert_eq!(r.status, 201, "not 'still being processed': {}", r.text());
    assert_eq!(
        r.json()["id"],
        first_attempt_user.to_string(),
        "the claim's user"
    );
    let again = send("sign-up-1").await;
    assert_eq!((again.status, &again.body), (201, &r.body));
    assert_problem(&send("sign-up-2").await, 409, "another sign-up: taken");
    stack.cleanup().await;
}

#[tokio::test]
async fn reconcile_keeps_and_reports_a_claim_whose_place_another_user_holds() {
    let stack = spawn_stack().await;
    let map = RegionMap::builtin();
    let email = email_claimed_on("us-east");
    let first = stack.sign_up("eu-west", &email, "First", "rome").await;
    // A claim for the same email on eu-west's node, for another user, as a different region
    // list would have placed it: two accounts, one email.
    let second = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO email_claims (region, email_hash, key_id, user_id, city) \
         VALUES ('eu-west', $1, 'dev', $2, 'paris')",
    )
    .bind(hash(&email))
    .bind(second)
    .execute(stack.node("eu-west"))
    .await
    .unwrap();
    let keys = ClaimKeys::development();
    let report = reconcile_claims(stack.node("eu-west"), map, "eu-west", &keys)
        .await
        .unwrap();
    assert_eq!(report.moved, 0);
    assert_eq!(report.conflicts.len(), 1, "{:?}", report.conflicts);
    let conflict = &report.conflicts[0];
    assert_eq!((conflict.ours, conflict.theirs), (second, first));
    assert!(conflict.to_string().contains("both kept"));
    assert_eq!(claims_of(&stack, "eu-west", &hash(&email)).await, 1, "kept");
    assert_eq!(
        claims_of(&stack, "us-east", &hash(&email)).await,
        1,
        "untouched"
    );
    stack.cleanup().await;
}

/// The rotated-to key of [`a_rotated_claim_key_keeps_every_email_taken`].
fn new_key() -> ClaimKey {
    ClaimKey::parse("k2:a-new-claim-key-of-at-least-32-bytes").unwrap()
}

fn rotating(config: &mut Config) {
    config.claim_keys = ClaimKeys {
        current: new_key(),
        previous: Some(ClaimKey::development()),
    };
}

fn rotated(config: &mut Config) {
    config.claim_keys = ClaimKeys {
        current: new_key(),
        previous: None,
    };
}

#[tokio::test]
async fn a_rotated_claim_key_keeps_every_email_taken() {
    let mut stack = spawn_stack().await;
    let map = RegionMap::builtin();
    let email = fresh_email();
    stack.sign_up("eu-west", &email, "Rotated", "rome").await;
    let check = |stack: &TestStack, when: &'static str| {
        let (sign_up, log_in) = (
            stack
                .origin("us-west")
                .sign_up(&email, "Rotated", "rome")
                .send(),
            stack.origin("us-east").log_in(&email, PASSWORD).send(),
        );
        async move {
            assert_problem(&sign_up.await, 409, when);
            let r = log_in.await;
            assert_eq!(
                r.status,
                200,
                "{when}: a traveller finds the user: {}",
                r.text()
            );
        }
    };
    // Origins learn the new key while the old one is still in force.
    stack.reconfigure(rotating);
    stack.start_origins(map).await;
    check(&stack, "during the rotation").await;
    let mut keys = ClaimKeys {
        current: new_key(),
        previous: Some(ClaimKey::development()),
    };
    stack
        .reconcile_claims_everywhere(RegionMap::builtin(), &keys)
        .await;
    let new_hash = new_key().hash(&email);
    let home_of_new = claim_region(map, &new_hash).name.clone();
    assert_eq!(
        claims_of(&stack, &home_of_new, &new_hash).await,
        1,
        "re-keyed"
    );
    // The old key retired: origins, then the claims under it.
    stack.reconfigure(rotated);
    stack.start_origins(map).await;
    keys.previous = None;
    stack
        .reconcile_claims_everywhere(RegionMap::builtin(), &keys)
        .await;
    let mut old_claims = 0;
    for region in REGIONS {
        old_claims += stack
            .count_local(region, "email_claims", "key_id = 'dev'")
            .await;
    }
    assert_eq!(old_claims, 0, "nothing left under the retired key");
    check(&stack, "after the rotation").await;
    stack.cleanup().await;
}
