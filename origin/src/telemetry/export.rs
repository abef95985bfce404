//! OpenTelemetry export, switched by the ecosystem's own variables: on when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, off when
//! not — then no OpenTelemetry layer is installed at all, so a request pays nothing for it.
//! The SDK reads the rest itself: `OTEL_SERVICE_NAME` (default here: `roam-origin`),
//! `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG` (default
//! `parentbased_always_on`: the edge's sampling decision, carried in the signed
//! `traceparent`, is followed), `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TIMEOUT`.
//!
//! The protocol is OTLP/HTTP with protobuf bodies (`…/v1/traces`), sent by hyper. The SDK's
//! batch processor exports from a thread of its own, outside any async runtime, and hyper needs
//! tokio: [`OnRuntime`] runs each export on the origin's runtime and waits for it there.

use std::sync::OnceLock;
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{SpanExporter, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use tokio::runtime::Handle;

use super::edge_ids::EdgeIds;

/// The service name when `OTEL_SERVICE_NAME` is not set.
const DEFAULT_SERVICE_NAME: &str = "roam-origin";

/// The provider, once export is on (for shutdown, and for the edge's spans).
static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Whether the standard variables ask for export.
pub fn wanted() -> bool {
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty()))
        && std::env::var("OTEL_SDK_DISABLED").map_or(true, |v| v.trim() != "true")
}

/// Whether export is on in this process.
pub fn enabled() -> bool {
    PROVIDER.get().is_some()
}

/// Builds the exporter and the provider, and returns the tracer for the tracing layer.
pub fn start(runtime: Handle) -> anyhow::Result<SdkTracer> {
    let client = OnRuntime {
        runtime,
        inner: opentelemetry_http::hyper::HyperClient::with_default_connector(
            Duration::from_secs(10),
            None,
        ),
    };
    let exporter = SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_http_client(client)
        .build()?;
    let service_name = std::env::var("OTEL_SERVICE_NAME")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_SERVICE_NAME.to_string());
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_id_generator(EdgeIds::default())
        .with_resource(Resource::builder().with_service_name(service_name).build())
        .build();
    let tracer = provider.tracer("roam-origin");
    opentelemetry::global::set_tracer_provider(provider.clone());
    let _ = PROVIDER.set(provider);
    Ok(tracer)
}

/// Exports what is still buffered (at shutdown; a process that ends without it loses up to
/// one batch of spans).
pub fn flush() {
    if let Some(provider) = PROVIDER.get() {
        if let Err(e) = provider.force_flush() {
            tracing::warn!(error = %e, "could not flush the last spans");
        }
    }
}

/// A tracer for spans recorded elsewhere and exported here (the edge's).
pub fn tracer(name: &'static str) -> Option<SdkTracer> {
    PROVIDER.get().map(|p| p.tracer(name))
}

/// An HTTP client that sends on the origin's tokio runtime, whoever calls it.
#[derive(Debug)]
struct OnRuntime {
    runtime: Handle,
    inner: opentelemetry_http::hyper::HyperClient,
}

#[async_trait::async_trait]
impl HttpClient for OnRuntime {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let inner = self.inner.clone();
        self.runtime
            .spawn(async move { inner.send_bytes(request).await })
            .await?
    }
}
