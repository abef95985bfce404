//! The baseline for the edge's `/ping` throughput: a minimal JavaScript worker giving the same
//! answer (nearest region by great-circle distance from `request.cf`), under its own
//! `wrangler dev`, so the same workerd runs both.

use std::process::Command;
use std::time::Duration;

use anyhow::Result;
use roam_shared::RegionMap;
use roam_stack::edge::workspace_root;
use roam_stack::process::{free_port, wait_until_ok, ManagedChild};
use serde_json::{json, Value};

/// A minimal JavaScript worker answering `/ping` like the edge (nearest region by great-circle
/// distance from `request.cf`), under its own `wrangler dev`.
pub struct JsWorker {
    port: u16,
    _child: ManagedChild,
    dir: std::path::PathBuf,
}

impl JsWorker {
    pub async fn start(map: &RegionMap) -> Result<JsWorker> {
        let dir = std::env::temp_dir().join(format!("roam-js-ping-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let regions: Vec<Value> = map
            .regions
            .iter()
            .map(|r| json!({"name": r.name, "lat": r.lat, "lon": r.lon}))
            .collect();
        std::fs::write(
            dir.join("worker.js"),
            JS_WORKER.replace("__REGIONS__", &Value::from(regions).to_string()),
        )?;
        std::fs::write(
            dir.join("wrangler.toml"),
            "name = \"roam-js-ping\"\nmain = \"worker.js\"\ncompatibility_date = \"2025-11-01\"\n",
        )?;
        let port = free_port()?;
        let mut command = Command::new(workspace_root().join("node_modules/.bin/wrangler"));
        command
            .current_dir(&dir)
            .args(["dev", "--ip", "127.0.0.1", "--port", &port.to_string()])
            .args(["--inspector-port", &free_port()?.to_string()])
            .args([
                "--show-interactive-dev-session=false",
                "--log-level",
                "warn",
            ])
            .env("WRANGLER_SEND_METRICS", "false")
            .env("NO_COLOR", "1");
        let child = ManagedChild::spawn("js ping worker", command, &dir.join("wrangler.log"))?;
        wait_until_ok(
            &format!("http://127.0.0.1:{port}/ping"),
            Duration::from_secs(90),
        )
        .await?;
        Ok(JsWorker {
            port,
            _child: child,
            dir,
        })
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for JsWorker {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const JS_WORKER: &str = r#"// The baseline for the edge's /ping: the same answer, in plain JavaScript.
const REGIONS = __REGIONS__;
const rad = (d) => (d * Math.PI) / 180;
function km(aLat, aLon, bLat, bLon) {
  const h = Math.sin(rad(bLat - aLat) / 2) ** 2 +
    Math.cos(rad(aLat)) * Math.cos(rad(bLat)) * Math.sin(rad(bLon - aLon) / 2) ** 2;
  return 2 * 6371.0088 * Math.asin(Math.min(1, Math.sqrt(h)));
}
export default {
  fetch(request) {
    const cf = request.cf || {};
    const lat = Number(cf.latitude), lon = Number(cf.longitude);
    let region = REGIONS[0].name;
    if (Number.isFinite(lat) && Number.isFinite(lon)) {
      region = REGIONS.reduce((best, r) =>
        km(lat, lon, r.lat, r.lon) < km(lat, lon, best.lat, best.lon) ? r : best).name;
    }
    const body = { pong: true, colo: cf.colo || "", country: cf.country || "", city: cf.city || "", region };
    return new Response(JSON.stringify(body), {
      headers: { "content-type": "application/json", "cache-control": "no-store",
        "x-request-id": crypto.randomUUID(), "x-roam-served-by": "edge" },
    });
  },
};
"#;
