//! The request metrics of OpenTelemetry's HTTP semantic conventions, rendered as Prometheus
//! text the way an OpenTelemetry Collector's Prometheus exporter renders them: the histogram
//! `http.server.request.duration` (seconds, the conventions' buckets) becomes
//! `http_server_request_duration_seconds{http_request_method, http_route,
//! http_response_status_code, error_type}`. `region` (a resource attribute in OpenTelemetry)
//! is kept as a label, as the Collector does with `resource_to_telemetry_conversion`, so one
//! Prometheus can tell the regions apart. The older `roam_http_*` series stay beside them.

/// The histogram's Prometheus name.
pub const DURATION: &str = "http_server_request_duration_seconds";

/// The conventions' advisory bucket boundaries for `http.server.request.duration`, seconds.
pub const BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Records one request: `route` is the matched route template (empty when none matched, as
/// the conventions leave `http.route` out then).
pub fn record(method: &str, route: &str, status: u16, region: &str, seconds: f64) {
    // `error.type` is the status code for a server error, empty (absent) otherwise.
    let error_type = if status >= 500 {
        status.to_string()
    } else {
        String::new()
    };
    let labels = [
        ("http_request_method", method.to_string()),
        ("http_route", route.to_string()),
        ("http_response_status_code", status.to_string()),
        ("error_type", error_type),
        ("region", region.to_string()),
    ];
    metrics::histogram!(DURATION, &labels).record(seconds);
}
