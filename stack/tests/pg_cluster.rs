//! The PostgreSQL nodes start, take databases, and stop and start again.

use roam_stack::pg::test_cluster;

#[tokio::test]
async fn every_region_gets_a_node_that_answers() {
    let cluster = test_cluster().await;
    assert_eq!(cluster.nodes.len(), 3);
    for node in &cluster.nodes {
        node.create_database("smoke").await.unwrap();
        let answer = node
            .psql(&node.url("smoke"), "SELECT current_setting('port')".into())
            .await
            .unwrap();
        assert_eq!(answer.trim(), node.port.to_string());
        node.drop_database("smoke").await.unwrap();
    }
}
