//! The checked-SQL cache (`origin/.sqlx`, what `query!` compiles against offline) still
//! describes the schema the migrations build: every cached query is described again against
//! a freshly migrated node and must have the same columns, types, nullability and parameters.
//! (A changed query is caught at compile time: it has no cache entry.)

use serde_json::Value;
use sqlx::{Column, Describe, Executor, Postgres};

use crate::helpers::spawn_stack;

/// What a query's description says: its columns (name, type), their nullability and its
/// parameters' types, spelled alike whether they came from the cache or from the database.
struct Shape {
    columns: Vec<(String, String)>,
    nullable: Vec<Option<bool>>,
    parameters: Vec<String>,
}

#[tokio::test]
async fn cached_query_descriptions_match_the_migrated_schema() {
    let stack = spawn_stack().await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".sqlx");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("the .sqlx directory") {
        let path = entry.expect("a .sqlx entry").path();
        let text = std::fs::read_to_string(&path).expect("a cached query file");
        let cached: Value = serde_json::from_str(&text).expect("a cached query's JSON");
        let query = cached["query"].as_str().expect("the cached query's text");
        let fresh = stack
            .node("us-east")
            .describe(query)
            .await
            .unwrap_or_else(|e| panic!("{}: no longer valid: {e}\n{query}", path.display()));
        let (fresh, cached) = (fresh_shape(&fresh), cached_shape(&cached["describe"]));
        assert_eq!(fresh.columns, cached.columns, "{query}");
        assert_eq!(fresh.nullable, cached.nullable, "{query}");
        assert_eq!(fresh.parameters, cached.parameters, "{query}");
        checked += 1;
    }
    assert!(
        checked >= 20,
        "only {checked} cached queries found in {}",
        dir.display()
    );
    stack.cleanup().await;
}

/// The shape of a query as the migrated database describes it now.
fn fresh_shape(fresh: &Describe<Postgres>) -> Shape {
    let columns: Vec<(String, String)> = fresh
        .columns()
        .iter()
        .map(|c| {
            (
                c.name().to_string(),
                sqlx::TypeInfo::name(c.type_info()).to_lowercase(),
            )
        })
        .collect();
    let nullable = (0..columns.len()).map(|i| fresh.nullable(i)).collect();
    let parameters = match fresh.parameters() {
        Some(either) => either
            .left_or_else(|_| &[])
            .iter()
            .map(|t| sqlx::TypeInfo::name(t).to_lowercase())
            .collect(),
        None => Vec::new(),
    };
    Shape {
        columns,
        nullable,
        parameters,
    }
}

/// The shape of a query as its cache entry's `describe` records it.
fn cached_shape(cached: &Value) -> Shape {
    let columns = cached["columns"]
        .as_array()
        .expect("cached columns")
        .iter()
        .map(|c| (sql_type_name(&c["name"]), sql_type_name(&c["type_info"])))
        .collect();
    let nullable = cached["nullable"]
        .as_array()
        .expect("cached nullability")
        .iter()
        .map(Value::as_bool)
        .collect();
    let parameters = cached["parameters"]["Left"]
        .as_array()
        .map(|a| a.iter().map(sql_type_name).collect())
        .unwrap_or_default();
    Shape {
        columns,
        nullable,
        parameters,
    }
}

/// A cached name in lower case. The cache spells array types as sqlx's enum does
/// (`TextArray`), describe as SQL does (`TEXT[]`).
fn sql_type_name(v: &Value) -> String {
    let name = v.as_str().unwrap_or_default().to_lowercase();
    match name.strip_suffix("array") {
        Some(element) => format!("{element}[]"),
        None => name,
    }
}
