//! One trace from the client to the database and the job: a user in Rome starts and ends a
//! ride through the edge with their own `traceparent` (one trace id, a span id per request),
//! and an OTLP receiver run by this test (OTLP/HTTP, protobuf bodies decoded with
//! opentelemetry-proto) must receive, under that trace id: the origin's server spans, its SQL
//! statements (with the node's region), the fare job (`ride_ended`) and its SQL, and the edge's
//! own spans (reported by the edge to the origin, exported there); the edge must echo the
//! trace id (`traceresponse`, and `trace_id` in a problem body).

use std::collections::BTreeMap;

use reqwest::Method;
use roam_e2e::client::{Answer, User};
use roam_e2e::otlp::{ancestors, names, receiver, wait_for, Received, Stop, Wanted};
use roam_e2e::place::ROME;
use roam_e2e::world::World;
use serde_json::json;

fn traceparent(trace_id: &str, span: u8) -> String {
    format!("00-{trace_id}-{}-01", format!("{span:02x}").repeat(8))
}

/// POSTs `body` to `path` as the client's span `span` of the trace.
async fn send(user: &User, path: &str, body: serde_json::Value, span: u8) -> Answer {
    let tp = traceparent(TRACE_ID, span);
    user.send(Method::POST, path, Some(&body), &[("traceparent", &tp)])
        .await
}

/// The trace the user's client starts; each of its requests is a span of its own under it.
const TRACE_ID: &str = "5bf92f3577b34da6a3ce929d0e0e4736";

/// What the receiver must get under the trace.
const WANTED: &[Wanted<'static>] = &[
    ("the origin's start-ride span", |s| s.name == START),
    ("the origin's end-ride span", |s| s.name == END),
    ("a ride's INSERT on eu-west", |s| {
        s.name == "INSERT here.rides"
            && s.attributes.get("roam.region").map(String::as_str) == Some("eu-west")
    }),
    ("the vehicle's UPDATE", |s| s.name == "UPDATE here.vehicles"),
    ("the fare job", |s| s.name == "job ride_ended"),
    ("the fare's UPDATE", is_fare_update),
    ("the edge's span", |s| s.name == "edge"),
    ("the edge's origin attempt", |s| {
        s.name == "edge.origin_attempt"
    }),
];

const START: &str = "POST /api/v1/cities/{city}/rides";
const END: &str = "POST /api/v1/cities/{city}/rides/{id}/end";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ride_in_rome_is_one_trace_from_the_edge_to_the_fare_job() {
    let (otlp, spans, task) = receiver().await;
    let _stop = Stop(task);
    let world = World::start_with("tracing", |options| {
        options.origin_env.extend([
            ("OTEL_EXPORTER_OTLP_ENDPOINT".to_string(), otlp),
            (
                "OTEL_SERVICE_NAME".to_string(),
                "roam-origin-test".to_string(),
            ),
            // Export every 200 ms rather than the SDK's 5 s: the test waits for the spans.
            ("OTEL_BSP_SCHEDULE_DELAY".to_string(), "200".to_string()),
        ]);
    })
    .await;
    let user = world
        .signed_in(ROME, "tracer", "correct horse battery staple")
        .await;
    ride_start_end_and_refused(&user).await;
    let got = wait_for(&spans, TRACE_ID, WANTED).await;
    check_tree(&got);
}

/// Starts a ride, ends it, then tries to end it again (409), each with its own span of the
/// trace; the edge must echo the trace id each time.
async fn ride_start_end_and_refused(user: &User) {
    let list = user
        .send(
            Method::GET,
            "/api/v1/cities/rome/vehicles?status=available",
            None,
            &[],
        )
        .await
        .expect(200);
    let vehicle = list.body["vehicles"][0]["id"]
        .as_str()
        .expect("an available vehicle in Rome")
        .to_string();
    let started = send(
        user,
        "/api/v1/cities/rome/rides",
        json!({"vehicle_id": vehicle}),
        0x11,
    )
    .await
    .expect(201);
    let echoed = started.header("traceresponse");
    assert!(
        echoed.starts_with(&format!("00-{TRACE_ID}-")),
        "traceresponse {echoed:?}"
    );
    let timing = started.header("server-timing");
    assert!(
        timing.contains("attempt;") && timing.contains("db;"),
        "{started:#?}"
    );
    let ride = started.body["id"].as_str().expect("a ride id").to_string();
    let end = format!("/api/v1/cities/rome/rides/{ride}/end");
    let place = json!({"location": "Piazza Navona"});
    send(user, &end, place.clone(), 0x22).await.expect(200);
    // A refused request quotes the trace too (ending the ride twice: 409, problem+json).
    let refused = send(user, &end, place, 0x33).await.expect(409);
    assert_eq!(refused.body["trace_id"], TRACE_ID, "{refused:#?}");
    assert!(
        refused.header("traceresponse").contains(TRACE_ID),
        "{refused:#?}"
    );
}

/// The tree holds: the origin's start span hangs under the edge's attempt that reached it,
/// which hangs under the edge span, which hangs under the client's span; the ride's INSERT
/// under the start; the fare job under the end that enqueued it, its UPDATE under the job.
fn check_tree(got: &[Received]) {
    let by_id: BTreeMap<&str, &Received> = got.iter().map(|s| (s.span_id.as_str(), s)).collect();
    let find = |what: &str, f: &dyn Fn(&Received) -> bool| {
        got.iter()
            .find(|s| f(s))
            .unwrap_or_else(|| panic!("no {what}"))
    };
    let line = |span: &Received| names(&ancestors(&by_id, span));
    let start = find("start", &|s| s.name == START);
    assert_eq!(
        line(start),
        ["edge.origin_attempt", "edge"],
        "the origin's span's parents"
    );
    let edge_span = ancestors(&by_id, start)[1];
    assert_eq!(
        edge_span.parent_id,
        "11".repeat(8),
        "the edge continues the client's span"
    );
    let insert = find("INSERT", &|s| s.name == "INSERT here.rides");
    assert!(
        line(insert).contains(&START),
        "the ride's INSERT is the start's: {:?}",
        line(insert)
    );
    let address = insert.attributes.get("server.address");
    assert!(
        address.is_some_and(|a| !a.is_empty()),
        "the node's address: {insert:?}"
    );
    let job = find("job", &|s| s.name == "job ride_ended");
    assert!(
        line(job).contains(&END),
        "the job continues the request that enqueued it: {:?}",
        line(job)
    );
    let fare = find("fare", &is_fare_update);
    assert!(
        line(fare).contains(&"job ride_ended"),
        "the fare's UPDATE is the job's: {:?}",
        line(fare)
    );
}

/// The fare job's statement (the start's INSERT also names fare_cents, in RETURNING).
fn is_fare_update(span: &Received) -> bool {
    span.name == "UPDATE here.rides"
        && span
            .attributes
            .get("db.query.text")
            .is_some_and(|q| q.contains("SET fare_cents"))
}
