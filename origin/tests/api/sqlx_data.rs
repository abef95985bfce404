//! The checked-SQL cache (`origin/.sqlx`, what `query!` compiles against offline) still
//! describes the schema the migrations build: every cached query is described again against
//! a freshly migrated node and must have the same columns, types, nullability and parameters.
//! (A changed query is caught at compile time: it has no cache entry.)

use serde_json::Value;
use sqlx::{Column, Executor};

use crate::helpers::spawn_stack;

#[tokio::test]
async fn cached_query_descriptions_match_the_migrated_schema() {
    let stack = spawn_stack().await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".sqlx");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let cached: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let query = cached["query"].as_str().unwrap();
        let fresh = stack
            .node("us-east")
            .describe(query)
            .await
            .unwrap_or_else(|e| panic!("{}: no longer valid: {e}\n{query}", path.display()));
        let cached = &cached["describe"];
        // The cache spells array types as sqlx's enum does (`TextArray`), describe as SQL
        // does (`TEXT[]`).
        let names = |v: &Value| {
            let name = v.as_str().unwrap_or_default().to_lowercase();
            match name.strip_suffix("array") {
                Some(element) => format!("{element}[]"),
                None => name,
            }
        };
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
        let cached_columns: Vec<(String, String)> = cached["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (names(&c["name"]), names(&c["type_info"])))
            .collect();
        assert_eq!(columns, cached_columns, "{query}");
        let nullable: Vec<Option<bool>> = (0..columns.len()).map(|i| fresh.nullable(i)).collect();
        let cached_nullable: Vec<Option<bool>> = cached["nullable"]
            .as_array()
            .unwrap()
            .iter()
            .map(Value::as_bool)
            .collect();
        assert_eq!(nullable, cached_nullable, "{query}");
        let parameters: Vec<String> = match fresh.parameters() {
            Some(either) => either
                .left_or_else(|_| &[])
                .iter()
                .map(|t| sqlx::TypeInfo::name(t).to_lowercase())
                .collect(),
            None => Vec::new(),
        };
        let cached_parameters: Vec<String> = cached["parameters"]["Left"]
            .as_array()
            .map(|a| a.iter().map(names).collect())
            .unwrap_or_default();
        assert_eq!(parameters, cached_parameters, "{query}");
        checked += 1;
    }
    assert!(
        checked >= 20,
        "only {checked} cached queries found in {}",
        dir.display()
    );
    stack.cleanup().await;
}
