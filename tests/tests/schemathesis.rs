//! schemathesis — a property-based API tester we did not write — against the whole stack
//! through the edge, as a signed-in user in Rome, from the committed OpenAPI document.
//!
//! It generates requests from the document (valid and invalid ones) and checks that no
//! response is a 5xx and that every status code, content type, header and body conforms to
//! what the document says. The tester is installed by `cargo xtask bootstrap` into
//! `target/tools/py`; `SCHEMATHESIS_BIN` points elsewhere.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use roam_e2e::place::ROME;
use roam_e2e::world::World;

/// Examples per operation: bounded so the run stays within a minute or two on 2 cores.
const MAX_EXAMPLES: &str = "12";

fn schemathesis() -> PathBuf {
    std::env::var_os("SCHEMATHESIS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            roam_stack::edge::workspace_root().join("target/tools/py/bin/schemathesis")
        })
}

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_nothing_wrong() {
    let binary = schemathesis();
    assert!(
        binary.exists(),
        "{} is missing: run `cargo xtask bootstrap`",
        binary.display()
    );
    let world = World::start("schemathesis").await;
    let user = world.signed_in(ROME, "schemathesis", "correct horse").await;
    let token = user.token.clone().expect("a session token");
    let edge_url = world.edge.url();

    let report = std::env::temp_dir().join(format!("roam-schemathesis-{}.xml", std::process::id()));
    let output = tokio::task::spawn_blocking(move || run(&binary, &edge_url, &token, &report))
        .await
        .expect("the schemathesis task")
        .expect("schemathesis starts");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    print_summary(&text);
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{}",
        last_lines(&text)
    );
}

/// Runs schemathesis on the committed OpenAPI document against `edge_url`, as the user of
/// `token` in Rome, writing a JUnit report to `report`.
fn run(binary: &Path, edge_url: &str, token: &str, report: &Path) -> std::io::Result<Output> {
    let document = roam_stack::edge::workspace_root().join("edge/openapi.json");
    Command::new(binary)
        .arg("run")
        .arg(&document)
        .args(["--url", edge_url])
        .args(["--header", &format!("MF-CF-Blob: {}", ROME.blob)])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(["--max-examples", MAX_EXAMPLES])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_headers_conformance,response_schema_conformance",
        ])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--workers", "1", "--request-timeout", "20"])
        .args(["--seed", "20261125", "--no-color"])
        .arg("--report")
        .arg("junit")
        .arg("--report-junit-path")
        .arg(report)
        .env("NO_COLOR", "1")
        .output()
}

/// The summary (operations and generated cases) goes into the test log either way.
fn print_summary(text: &str) {
    let summary: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.contains("operations")
                || l.contains("test cases")
                || l.contains("passed")
                || l.contains("failed")
        })
        .collect();
    eprintln!("schemathesis summary:\n{}", summary.join("\n"));
}

/// Its report can quote whole source files when schemathesis itself errs: keep the end (the
/// last 120 lines, each cut at 400 characters).
fn last_lines(text: &str) -> String {
    let mut tail: Vec<String> = text
        .lines()
        .rev()
        .take(120)
        .map(|line| line.chars().take(400).collect())
        .collect();
    tail.reverse();
    tail.join("\n")
}
