//! The `--as` front against a tiny local HTTP server standing in for the edge: it echoes what
//! it received (method, path, query, body, headers) as JSON.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::Request;
use axum::http::HeaderMap;
use axum::Router;
use roam_stack::front::{Front, FrontOptions, AS_CHOICES_HEADER, AS_HEADER};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

async fn echo(headers: HeaderMap, request: Request) -> ([(&'static str, &'static str); 3], String) {
    let (parts, body) = request.into_parts();
    let body: Bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    };
    let echoed = json!({
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": parts.uri.query(),
        "body": String::from_utf8_lossy(&body),
        "blob": header("mf-cf-blob"),
        "authorization": header("authorization"),
        "forwarded_host": header("x-forwarded-host"),
    });
    (
        [
            ("content-type", "application/json"),
            ("set-cookie", "a=1; Path=/"),
            ("x-roam-cache", "miss"),
        ],
        echoed.to_string(),
    )
}

async fn fake_edge() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, Router::new().fallback(echo)).await;
    });
    addr
}

/// A front on a free local port, in front of `edge`, defaulting to `city`.
fn options(edge: SocketAddr, city: &str) -> FrontOptions {
    FrontOptions {
        listen: "127.0.0.1:0".parse().expect("addr"),
        edge_url: format!("http://{edge}"),
        default_city: city.into(),
    }
}

async fn front_for(edge: SocketAddr, city: &str) -> Front {
    Front::start(options(edge, city))
        .await
        .expect("front starts")
}

/// What the edge received for a `/ping` through the front that carried `cookie`.
async fn echoed_ping_with_cookie(client: &reqwest::Client, front: &Front, cookie: &str) -> Value {
    client
        .get(format!("{}/ping", front.url()))
        .header("cookie", cookie)
        .send()
        .await
        .expect("front answers")
        .json()
        .await
        .expect("json")
}

fn assert_problem_json(response: &reqwest::Response) {
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
}

fn blob(echoed: &Value) -> Value {
    serde_json::from_str(echoed["blob"].as_str().expect("blob sent")).expect("blob is JSON")
}

#[tokio::test]
async fn adds_the_default_city_and_forwards_everything_else() {
    let front = front_for(fake_edge().await, "rome").await;
    let client = reqwest::Client::new();
    let response = client
        .post(format!(
            "{}/api/v1/cities/rome/vehicles?status=available",
            front.url()
        ))
        .header("authorization", "Bearer t")
        .header("mf-cf-blob", r#"{"country":"XX"}"#)
        .body(r#"{"type":"bike"}"#)
        .send()
        .await
        .expect("front answers");
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["x-roam-cache"], "miss", "edge headers come back");
    assert_eq!(
        headers.get_all("set-cookie").iter().count(),
        1,
        "no roam_as cookie unless asked"
    );
    assert_eq!(headers[AS_HEADER], "rome");
    let choices = headers[AS_CHOICES_HEADER].to_str().expect("ascii");
    assert!(
        choices.contains("rome") && choices.contains("sao-paulo"),
        "{choices}"
    );
    let echoed: Value = response.json().await.expect("json");
    assert_eq!(echoed["method"], "POST");
    assert_eq!(echoed["path"], "/api/v1/cities/rome/vehicles");
    assert_eq!(echoed["query"], "status=available");
    assert_eq!(echoed["body"], r#"{"type":"bike"}"#);
    assert_eq!(echoed["authorization"], "Bearer t");
    assert_eq!(echoed["forwarded_host"], front.addr().to_string());
    let cf = blob(&echoed);
    assert_eq!(
        cf["clientAcceptEncoding"], "",
        "no Accept-Encoding, no compression"
    );
    assert_eq!(
        (cf["country"].as_str(), cf["colo"].as_str()),
        (Some("IT"), Some("FCO")),
        "a client's own blob is replaced"
    );
    front.stop().await;
}

#[tokio::test]
async fn query_parameter_and_cookie_switch_city() {
    let front = front_for(fake_edge().await, "rome").await;
    let client = reqwest::Client::new();
    let response = client
        .get(format!("{}/ping?as=tokyo", front.url()))
        .send()
        .await
        .expect("front answers");
    let cookies: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(String::from))
        .collect();
    assert!(
        cookies.iter().any(|c| c.starts_with("roam_as=tokyo;")),
        "{cookies:?}"
    );
    assert_eq!(response.headers()[AS_HEADER], "tokyo");
    let echoed: Value = response.json().await.expect("json");
    assert_eq!(echoed["query"], Value::Null, "?as= is not forwarded");
    assert_eq!(blob(&echoed)["colo"], "NRT");

    let by_cookie = echoed_ping_with_cookie(&client, &front, "x=1; roam_as=sao-paulo").await;
    assert_eq!(blob(&by_cookie)["city"], "São Paulo");

    let stale_cookie = echoed_ping_with_cookie(&client, &front, "roam_as=atlantis").await;
    assert_eq!(
        blob(&stale_cookie)["city"],
        "Rome",
        "an unknown cookie falls back to the default"
    );

    let unknown = client
        .get(format!("{}/ping?as=atlantis", front.url()))
        .send()
        .await
        .expect("front answers");
    assert_eq!(unknown.status(), 400);
    assert_problem_json(&unknown);
    let problem: Value = unknown.json().await.expect("json");
    assert!(problem["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("atlantis"));
}

#[tokio::test]
async fn an_unknown_default_city_is_refused_and_a_dead_edge_is_a_502() {
    let edge = fake_edge().await;
    let err = Front::start(options(edge, "atlantis"))
        .await
        .expect_err("unknown city");
    assert!(err.to_string().contains("atlantis"), "{err}");

    // A port nobody listens on: bind one, note it, drop it.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead_addr = dead.local_addr().expect("addr");
    drop(dead);
    let front = front_for(dead_addr, "paris").await;
    let response = reqwest::get(format!("{}/ping", front.url()))
        .await
        .expect("front answers");
    assert_eq!(response.status(), 502);
    assert_problem_json(&response);
}

/// An edge that answers the first request on each connection (keeping it open) and closes a
/// connection on its second request without answering: what a client meets when it reuses a
/// pooled connection just as the edge closes it for idleness. Counts the requests per path.
async fn edge_closing_reused_connections() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(answer_once_then_close(socket, log.clone()));
        }
    });
    (addr, seen)
}

async fn answer_once_then_close(socket: tokio::net::TcpStream, seen: Arc<Mutex<Vec<String>>>) {
    let mut reader = BufReader::new(socket);
    for nth in 0.. {
        let Some(path) = read_request(&mut reader).await else {
            return;
        };
        seen.lock().expect("log").push(path);
        if nth > 0 {
            return; // dropped: the connection closes without an answer
        }
        let answer = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok";
        if reader.get_mut().write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Reads one HTTP/1.1 request (head and content-length body); its "METHOD /path".
async fn read_request(reader: &mut BufReader<tokio::net::TcpStream>) -> Option<String> {
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).await.ok()? == 0 {
        return None;
    }
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).await.ok()?;
        if line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.ok()?;
    let mut words = request_line.split_whitespace();
    Some(format!("{} {}", words.next()?, words.next()?))
}

#[tokio::test]
async fn a_reused_connection_the_edge_closed_is_sent_again_only_when_that_is_harmless() {
    let (edge, seen) = edge_closing_reused_connections().await;
    let front = front_for(edge, "rome").await;
    let client = reqwest::Client::new();
    let send = |method: reqwest::Method, path: &str, key: Option<&str>| {
        let mut request = client.request(method, format!("{}{path}", front.url()));
        if let Some(key) = key {
            request = request.header("idempotency-key", key).body("{}");
        }
        async move { request.send().await.expect("front answers").status() }
    };
    let pause = || tokio::time::sleep(std::time::Duration::from_millis(100));

    assert_eq!(send(reqwest::Method::GET, "/first", None).await, 200);
    pause().await;
    // The front's pooled connection is closed under it: a read is simply sent again.
    assert_eq!(send(reqwest::Method::GET, "/read", None).await, 200);
    pause().await;
    // A write without an idempotency key might have been applied: never sent twice.
    assert_eq!(send(reqwest::Method::POST, "/unkeyed", None).await, 502);
    assert_eq!(send(reqwest::Method::GET, "/again", None).await, 200);
    pause().await;
    // A keyed write is safe to repeat (the second is a replay).
    assert_eq!(
        send(reqwest::Method::POST, "/keyed", Some("k-1")).await,
        200
    );

    let seen = seen.lock().expect("log").clone();
    let count = |what: &str| seen.iter().filter(|s| s.as_str() == what).count();
    assert_eq!(count("GET /read"), 2, "{seen:?}");
    assert_eq!(count("POST /unkeyed"), 1, "{seen:?}");
    assert_eq!(count("POST /keyed"), 2, "{seen:?}");
}
