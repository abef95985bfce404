//! An origin of the test stack, in process on port 0, with its public and admin listeners.

use std::time::Duration;

use roam_origin::{Application, Config};
use serde_json::Value;
use tokio::sync::oneshot;

use crate::client::Req;

/// A client that never reuses a connection idle for 2 s: an origin closes a keep-alive
/// connection idle for its header-read deadline (hyper's `header_read_timeout` also bounds the
/// wait for a connection's next request; 10 s by default), and a request sent on one as it closes
/// fails without an answer.
fn idle_safe_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(2))
        .build()
        .expect("an HTTP client")
}

/// An origin started in this process; stopping it is graceful.
pub(crate) struct TestOrigin {
    pub region: String,
    pub address: String,
    /// The admin listener (`/readyz`, `/metrics`).
    pub admin_address: String,
    client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestOrigin {
    pub(crate) async fn spawn(config: Config) -> Self {
        let region = config.region.clone();
        let app = Application::build(config).await.expect("build");
        let address = format!("http://127.0.0.1:{}", app.port());
        let admin_address = format!("http://127.0.0.1:{}", app.admin_port());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            app.run_until(async {
                let _ = rx.await;
            })
            .await
            .expect("origin failed");
        });
        Self {
            region,
            address,
            admin_address,
            client: idle_safe_client(),
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    pub(crate) fn client(&self) -> reqwest::Client {
        self.client.clone()
    }

    /// Asks it to stop (graceful shutdown) without waiting.
    pub(crate) fn signal_stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Waits until it has stopped; false if it did not within `limit`.
    pub(crate) async fn stopped_within(&mut self, limit: Duration) -> bool {
        match self.task.take() {
            Some(task) => tokio::time::timeout(limit, task).await.is_ok(),
            None => true,
        }
    }

    pub(crate) async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }

    /// A GET on the admin listener, as its text.
    pub(crate) async fn admin(&self, path: &str) -> (u16, String) {
        let r = self
            .client
            .get(format!("{}{path}", self.admin_address))
            .send()
            .await
            .expect("the admin listener answers");
        let status = r.status().as_u16();
        (status, r.text().await.unwrap_or_default())
    }

    pub(crate) fn get(&self, path: &str) -> Req {
        Req::new(self, "GET", path)
    }

    #[allow(clippy::needless_pass_by_value)] // json!(…) at every call site reads best
    pub(crate) fn post(&self, path: &str, body: Value) -> Req {
        Req::new(self, "POST", path).body(body.to_string().into_bytes(), "application/json")
    }

    pub(crate) fn request(&self, method: &'static str, path: &str) -> Req {
        Req::new(self, method, path)
    }
}
