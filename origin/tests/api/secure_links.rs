//! Database links as production runs them: every node admits roam's role only over TLS with
//! a SCRAM password (`pg_hba.conf` has no other line for it). The origins' pools, their
//! cross-region pools and the postgres_fdw links all have to get through that door.

use roam_shared::RegionMap;
use roam_stack::pg::secure::{secure_cluster, SecureAccess};
use roam_stack::pg::{reap_when_gone, PgCluster, PgNode};
use sqlx::postgres::PgDatabaseError;
use sqlx::Connection;

use crate::helpers::{email_claimed_on, TestStack};

/// A cluster of its own (its `pg_hba.conf` is not the shared cluster's), secured.
async fn secured_cluster() -> (&'static PgCluster, &'static SecureAccess) {
    let root = std::env::temp_dir().join(format!("roam-origin-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let cluster = PgCluster::start(&root.join("nodes"), RegionMap::builtin())
        .await
        .expect("cluster");
    reap_when_gone(std::process::id(), &root, &cluster, &[]).expect("reaper");
    let access = secure_cluster(&cluster, &root.join("tls"), "roam_app")
        .await
        .expect("securing the nodes");
    (Box::leak(Box::new(cluster)), Box::leak(Box::new(access)))
}

/// How many of the role's sessions on a node run over TLS, and how many do not.
async fn sessions_by_tls(stack: &TestStack, region: &str, role: &str) -> (i64, i64) {
    sqlx::query_as(
        "SELECT count(*) FILTER (WHERE s.ssl), count(*) FILTER (WHERE NOT s.ssl) \
         FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.usename = $1",
    )
    .bind(role)
    .fetch_one(stack.node(region))
    .await
    .expect("pg_stat_ssl")
}

#[tokio::test]
async fn origins_and_links_reach_their_nodes_only_over_tls_with_a_password() {
    let (cluster, access) = secured_cluster().await;
    let mut stack = TestStack::unmigrated(cluster, |_| {});
    stack.secure = Some(access);
    let map = RegionMap::builtin();
    stack.migrate(map).await;
    stack.start_origins(map).await;

    let node = cluster.node("eu-west").expect("node");
    the_door_is_shut_without_tls(access, node, &stack.database).await;
    // A certificate from another CA is not believed.
    let elsewhere = std::env::temp_dir().join(format!("roam-other-ca-{}", std::process::id()));
    let other = secure_cluster(&PgCluster { nodes: Vec::new() }, &elsewhere, "nobody")
        .await
        .expect("another CA");
    let forged = access.url(node, &stack.database).replace(
        &*access.ca_file.to_string_lossy(),
        &other.ca_file.to_string_lossy(),
    );
    let refused = sqlx::PgConnection::connect(&forged).await;
    assert!(refused.is_err(), "a node was believed on another CA's word");

    // A Roman signs up through us-east: the claim is written at its region and the account in
    // Rome's, both through us-east's cross-region pools; then logs in at home.
    let email = email_claimed_on("us-west");
    stack.sign_up("us-east", &email, "Tullia", "rome").await;
    stack.log_in("eu-west", &email).await;

    // postgres_fdw reads the Roman's row from us-east through its link (as the role, over TLS).
    let through_link: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE email = $1")
        .bind(&email)
        .fetch_one(stack.node("us-east"))
        .await
        .expect("a query through the links");
    assert_eq!(through_link, 1);

    a_link_told_to_trust_another_ca_refuses(cluster, &stack.database, &email, &other).await;
    let _ = std::fs::remove_dir_all(&elsewhere);

    for region in ["us-east", "us-west", "eu-west"] {
        let (encrypted, plain) = sessions_by_tls(&stack, region, &access.role).await;
        assert!(encrypted > 0, "{region}: no session of the role at all");
        assert_eq!(plain, 0, "{region}: the role got in without TLS");
    }
    stack.cleanup().await;
}

/// The door is shut without TLS: `pg_hba.conf` has no line for the role over a plain connection.
async fn the_door_is_shut_without_tls(access: &SecureAccess, node: &PgNode, database: &str) {
    let plain = sqlx::PgConnection::connect(&access.url_with(node, database, "disable"))
        .await
        .err()
        .map(|e| e.to_string());
    assert!(
        plain.as_deref().is_some_and(|e| e.contains("pg_hba.conf")),
        "{plain:?}"
    );
}

/// The link checks its peer's certificate too: us-east's link to us-west, told to trust another
/// CA (same name, other key: the signature check fails), refuses.
async fn a_link_told_to_trust_another_ca_refuses(
    cluster: &PgCluster,
    database: &str,
    email: &str,
    other: &SecureAccess,
) {
    let mut admin =
        sqlx::PgConnection::connect(&cluster.node("us-east").expect("node").url(database))
            .await
            .expect("admin connection");
    let trust_other = format!(
        "ALTER SERVER node_us_west OPTIONS (SET sslrootcert '{}')",
        other.ca_file.display()
    );
    sqlx::raw_sql(&trust_other)
        .execute(&mut admin)
        .await
        .expect("alter server");
    let misled = sqlx::query("SELECT count(*) FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&mut admin)
        .await
        .err()
        .and_then(|e| {
            let detail = e
                .as_database_error()?
                .try_downcast_ref::<PgDatabaseError>()?
                .detail();
            detail.map(str::to_string)
        });
    assert!(
        misled.as_deref().is_some_and(|d| d.contains("SSL error")),
        "{misled:?}"
    );
}
