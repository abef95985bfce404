//! Latency under rising load as a chart (`load.svg`) and tables: p50 (solid) and p99 (dashed)
//! against offered load, one panel per comparison (roam's edge against the JavaScript worker,
//! the origin against `pgbench -S -R`, the writes), each curve's knee marked.

use std::fmt::Write as _;

use super::load::Curve;

const COLORS: [&str; 2] = ["#d1495b", "#00798c"];
const PANEL_W: f64 = 420.0;
const PANEL_H: f64 = 320.0;
const LEFT: f64 = 55.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 70.0;

/// Latency axis, log scale, ms.
const LO: f64 = 0.1;
const HI: f64 = 5000.0;

/// The panels: a title and the curves (by name prefix) drawn in it.
pub(super) const PANELS: [(&str, [&str; 2]); 3] = [
    (
        "Cached reads at the edge",
        ["cached read, roam", "cached read, JavaScript"],
    ),
    ("Primary-key reads", ["primary-key read, origin", "pgbench"]),
    ("Start-ride writes through the edge", ["start ride", "-"]),
];

pub(super) fn svg(curves: &[Curve]) -> String {
    let width = LEFT + PANELS.len() as f64 * (PANEL_W + LEFT);
    let height = TOP + PANEL_H + BOTTOM;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
<text x="{LEFT}" y="18" font-size="14" font-weight="bold">Latency against offered load (open loop; p50 solid, p99 dashed; log scale)</text>
"#
    );
    for (i, (title, names)) in PANELS.iter().enumerate() {
        let x0 = LEFT + i as f64 * (PANEL_W + LEFT);
        let shown: Vec<&Curve> = names
            .iter()
            .filter_map(|n| curves.iter().find(|c| c.name.starts_with(n)))
            .collect();
        panel(&mut svg, x0, title, &shown);
    }
    svg.push_str("</svg>\n");
    svg
}

fn panel(svg: &mut String, x0: f64, title: &str, curves: &[&Curve]) {
    let max_rate = curves
        .iter()
        .flat_map(|c| c.steps.iter().map(|s| s.offered))
        .fold(1.0, f64::max);
    let _ = writeln!(
        svg,
        r#"<text x="{x0}" y="{:.1}" font-weight="bold">{title}</text>"#,
        TOP - 8.0
    );
    latency_axis(svg, x0);
    rate_axis(svg, x0, max_rate);
    for (c, curve) in curves.iter().enumerate() {
        draw_curve(svg, x0, max_rate, c, curve);
    }
}

/// Where a rate sits on a panel's linear axis (0 to `max_rate`).
fn rate_x(x0: f64, max_rate: f64, rate: f64) -> f64 {
    x0 + PANEL_W * rate / max_rate
}

/// Where a latency sits on the log axis (clamped to `LO`–`HI` ms).
fn latency_y(ms: f64) -> f64 {
    let t = (ms.clamp(LO, HI).log10() - LO.log10()) / (HI.log10() - LO.log10());
    TOP + PANEL_H * (1.0 - t)
}

/// Grid lines at each power of ten of latency, labelled on the left.
fn latency_axis(svg: &mut String, x0: f64) {
    for tick in [0.1, 1.0, 10.0, 100.0, 1000.0] {
        let ty = latency_y(tick);
        let _ = writeln!(
            svg,
            r##"<line x1="{x0}" y1="{ty:.1}" x2="{:.1}" y2="{ty:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{tick} ms</text>"##,
            x0 + PANEL_W,
            x0 - 4.0,
            ty + 4.0
        );
    }
}

/// Five rate labels under the panel, 0 to `max_rate`.
fn rate_axis(svg: &mut String, x0: f64, max_rate: f64) {
    for k in 0..=4 {
        let rate = max_rate * f64::from(k) / 4.0;
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{rate:.0}/s</text>"#,
            rate_x(x0, max_rate, rate),
            TOP + PANEL_H + 14.0
        );
    }
}

/// Curve `c`: its p50 (solid) and p99 (dashed) lines, its knee, and its name under the panel.
fn draw_curve(svg: &mut String, x0: f64, max_rate: f64, c: usize, curve: &Curve) {
    let x = |rate: f64| rate_x(x0, max_rate, rate);
    let color = COLORS[c % COLORS.len()];
    for (dash, pick) in [("", 0), (r#" stroke-dasharray="5,3""#, 1)] {
        let points: Vec<String> = curve
            .steps
            .iter()
            .map(|s| {
                let ms = if pick == 0 { s.p50_ms } else { s.p99_ms };
                format!("{:.1},{:.1}", x(s.offered), latency_y(ms))
            })
            .collect();
        let _ = writeln!(
            svg,
            r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"{dash}/>"#,
            points.join(" ")
        );
    }
    if let Some(knee) = curve.knee() {
        let kx = x(knee);
        let _ = writeln!(
            svg,
            r#"<line x1="{kx:.1}" y1="{TOP}" x2="{kx:.1}" y2="{:.1}" stroke="{color}" stroke-dasharray="1,3"/><text x="{:.1}" y="{:.1}" fill="{color}">knee {knee:.0}/s</text>"#,
            TOP + PANEL_H,
            kx + 3.0,
            TOP + 12.0 + 12.0 * c as f64,
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{x0}" y="{:.1}" fill="{color}">■ {}</text>"#,
        TOP + PANEL_H + 32.0 + 14.0 * c as f64,
        curve.name
    );
}

/// A table per curve, and its knee.
pub(super) fn markdown(curves: &[Curve]) -> String {
    let mut out = String::new();
    for curve in curves {
        let knee = curve
            .knee()
            .map_or("none within the rates tried".to_string(), |k| {
                format!("{k:.0}/s")
            });
        let _ = writeln!(
            out,
            "**{}** (knee: {knee})\n\n| offered /s | delivered /s | p50 ms | p99 ms | failed |\n|---|---|---|---|---|",
            curve.name
        );
        for s in &curve.steps {
            let _ = writeln!(
                out,
                "| {:.0} | {:.0} | {:.2} | {:.2} | {} |",
                s.offered, s.delivered, s.p50_ms, s.p99_ms, s.failed
            );
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::load::Step;
    use super::*;

    #[test]
    fn every_curve_is_drawn_and_tabled() {
        let step = |offered, p99_ms| Step {
            offered,
            delivered: offered,
            p50_ms: p99_ms / 3.0,
            p99_ms,
            failed: 0,
        };
        let curves: Vec<Curve> = ["cached read, roam edge", "pgbench -S -R", "start ride x"]
            .iter()
            .map(|name| Curve {
                name: name.to_string(),
                steps: vec![step(100.0, 2.0), step(200.0, 3.0), step(400.0, 90.0)],
            })
            .collect();
        let svg = svg(&curves);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 6);
        assert_eq!(svg.matches("knee 200/s").count(), 3);
        let table = markdown(&curves);
        assert_eq!(table.matches("(knee: 200/s)").count(), 3);
    }
}
