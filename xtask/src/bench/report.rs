//! The journey's numbers as a table per user city (markdown) and a bar chart of the per-step
//! ratios (SVG), plus the shape check `--short` runs.
//! (Long because the table, its shape check and the chart read the same rows.)

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{bail, Result};

use super::journey::Step;

/// Percentiles of one step's samples.
#[derive(Debug, Clone, Copy)]
pub(super) struct Summary {
    pub p50: Duration,
    pub p95: Duration,
}

impl Summary {
    /// Nearest-rank percentiles; `None` without samples.
    pub(super) fn of(samples: &[Duration]) -> Option<Summary> {
        let mut sorted = samples.to_vec();
        sorted.sort();
        let rank = |p: f64| {
            let i = (p * sorted.len() as f64).ceil() as usize;
            sorted[i.clamp(1, sorted.len()) - 1]
        };
        (!sorted.is_empty()).then(|| Summary {
            p50: rank(0.50),
            p95: rank(0.95),
        })
    }
}

/// One step for one user city, both topologies side by side.
#[derive(Debug, Clone)]
pub(super) struct Row {
    pub step: Step,
    pub single: Summary,
    pub multi: Summary,
    /// Light in fibre, there and back, along the path the step took (median over samples).
    pub floor_single: Duration,
    pub floor_multi: Duration,
    /// The edge's cache verdicts in the multi-region run (e.g. `hit ×20`).
    pub served_multi: String,
    /// The edge's time waiting on origins in the multi-region run (p50), when it said.
    pub origin_multi: Option<Duration>,
}

impl Row {
    /// How many times faster multi-region is at p50.
    pub(super) fn ratio(&self) -> f64 {
        ms(self.single.p50) / ms(self.multi.p50).max(0.001)
    }
}

/// Everything measured for users in one city.
#[derive(Debug, Clone)]
pub(super) struct CityTable {
    pub city: String,
    pub colo: String,
    pub user_to_pop: Duration,
    pub rows: Vec<Row>,
}

/// `met`, or a bold `missed`, for a target.
pub(super) fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**missed**"
    }
}

pub(super) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn fmt_ms(d: Duration) -> String {
    format!("{:.1}", ms(d))
}

/// The column headers of a journey table (the `--short` check relies on them). The last two
/// are the same journey with the edge under `wrangler dev`, the development tool.
pub(super) const HEADER: [&str; 11] = [
    "step",
    "single p50 ms",
    "single p95 ms",
    "multi p50 ms",
    "multi p95 ms",
    "ratio (p50)",
    "fibre floor single ms",
    "fibre floor multi ms",
    "multi served",
    "wrangler dev: multi p50 ms",
    "wrangler dev: ratio (p50)",
];

/// The columns that must hold numbers.
const NUMERIC: [usize; 9] = [1, 2, 3, 4, 5, 6, 7, 9, 10];

/// A markdown table per city; `dev` holds the same tables measured with the edge under
/// `wrangler dev` (a step it lacks shows `–`).
pub(super) fn journey_markdown(tables: &[CityTable], dev: &[CityTable]) -> String {
    let mut out = String::new();
    for table in tables {
        let dev_row = |step| {
            dev.iter()
                .find(|t| t.city == table.city)
                .and_then(|t| t.rows.iter().find(|r| r.step == step))
        };
        let _ = writeln!(
            out,
            "### A user in {} (PoP {}, user → PoP {} ms)\n",
            table.city,
            table.colo,
            fmt_ms(table.user_to_pop)
        );
        let _ = writeln!(out, "| {} |", HEADER.join(" | "));
        let _ = writeln!(out, "|{}", "---|".repeat(HEADER.len()));
        for row in &table.rows {
            let (dev_p50, dev_ratio) = dev_row(row.step)
                .map_or(("–".into(), "–".into()), |d| {
                    (fmt_ms(d.multi.p50), format!("{:.1}×", d.ratio()))
                });
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {:.1}× | {} | {} | {} | {dev_p50} | {dev_ratio} |",
                row.step.label(),
                fmt_ms(row.single.p50),
                fmt_ms(row.single.p95),
                fmt_ms(row.multi.p50),
                fmt_ms(row.multi.p95),
                row.ratio(),
                fmt_ms(row.floor_single),
                fmt_ms(row.floor_multi),
                row.served_multi,
            );
        }
        out.push('\n');
    }
    out
}

/// Checks that `markdown` holds `cities` journey tables, each with a row per step whose
/// numeric cells parse: the `--short` assertion (shape only, never timing).
pub(super) fn check_tables(markdown: &str, cities: usize) -> Result<()> {
    let header = format!("| {} |", HEADER.join(" | "));
    let found = markdown.matches(&header).count();
    if found != cities {
        bail!("expected {cities} journey tables, found {found}");
    }
    for block in markdown.split(&header).skip(1) {
        let rows: Vec<&str> = block
            .lines()
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .collect();
        if rows.len() != Step::ALL.len() {
            bail!(
                "a table has {} rows, expected {}",
                rows.len(),
                Step::ALL.len()
            );
        }
        for row in rows {
            let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
            if cells.len() != HEADER.len() {
                bail!("row {row:?} has {} cells", cells.len());
            }
            for cell in NUMERIC.iter().filter_map(|&i| cells.get(i)) {
                let number = cell.trim_end_matches('×');
                if !number
                    .parse::<f64>()
                    .is_ok_and(|x| x.is_finite() && x >= 0.0)
                {
                    bail!("row {row:?}: {cell:?} is not a number");
                }
            }
        }
    }
    Ok(())
}

const COLORS: [&str; 4] = ["#d1495b", "#00798c", "#edae49", "#30638e"];

/// The ratio chart's size and margins.
const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 480.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 90.0;

/// Grouped bars: a group per step, a bar per city, height = ratio on a log scale.
pub(super) fn ratio_svg(tables: &[CityTable]) -> String {
    let bar_w = (group_width() * 0.8) / tables.len().max(1) as f64;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{LEFT}" y="20" font-size="15" font-weight="bold">How many times faster multi-region is than single-region (p50, log scale; below 1×: slower)</text>"#
    );
    ratio_grid(&mut svg);
    for (s, step) in Step::ALL.iter().enumerate() {
        step_group(&mut svg, s, *step, tables, bar_w);
    }
    city_legend(&mut svg, tables);
    svg.push_str("</svg>\n");
    svg
}

/// The width of one step's group of bars.
fn group_width() -> f64 {
    (WIDTH - LEFT - RIGHT) / Step::ALL.len() as f64
}

/// Where a ratio sits on the chart's log axis (clamped to 0.02–100×).
fn ratio_y(ratio: f64) -> f64 {
    let plot_h = HEIGHT - TOP - BOTTOM;
    let (lo, hi) = (0.02f64.log10(), 100f64.log10());
    TOP + plot_h * (1.0 - (ratio.clamp(0.02, 100.0).log10() - lo) / (hi - lo))
}

/// The horizontal grid lines and their labels; 1× darker.
fn ratio_grid(svg: &mut String) {
    for tick in [0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0] {
        let ty = ratio_y(tick);
        let stroke = if tick == 1.0 { "#333" } else { "#ddd" };
        let _ = writeln!(
            svg,
            r#"<line x1="{LEFT}" y1="{ty:.1}" x2="{:.1}" y2="{ty:.1}" stroke="{stroke}"/><text x="{:.1}" y="{:.1}" text-anchor="end">{tick}×</text>"#,
            WIDTH - RIGHT,
            LEFT - 6.0,
            ty + 4.0
        );
    }
}

/// Step `s`'s group: a bar per city that measured it, then the step's name below.
fn step_group(svg: &mut String, s: usize, step: Step, tables: &[CityTable], bar_w: f64) {
    let group_w = group_width();
    let gx = LEFT + group_w * s as f64 + group_w * 0.1;
    for (c, table) in tables.iter().enumerate() {
        let Some(row) = table.rows.iter().find(|r| r.step == step) else {
            continue;
        };
        ratio_bar(svg, gx + bar_w * c as f64, bar_w, c, &table.city, row);
    }
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        LEFT + group_w * (s as f64 + 0.5),
        HEIGHT - BOTTOM + 34.0,
        step.label()
    );
}

/// One city's bar from 1× to its ratio, with the ratio written at its end.
fn ratio_bar(svg: &mut String, x: f64, bar_w: f64, c: usize, city: &str, row: &Row) {
    let ratio = row.ratio();
    let (base, top_y) = (ratio_y(1.0), ratio_y(ratio));
    let (ry, rh) = (top_y.min(base), (top_y - base).abs().max(1.0));
    let _ = writeln!(
        svg,
        r#"<rect x="{x:.1}" y="{ry:.1}" width="{:.1}" height="{rh:.1}" fill="{}"><title>{}, {}: {ratio:.1}×</title></rect>"#,
        bar_w - 2.0,
        COLORS[c % COLORS.len()],
        city,
        row.step.label()
    );
    let label_y = if ratio >= 1.0 {
        ry - 3.0
    } else {
        ry + rh + 11.0
    };
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{label_y:.1}" text-anchor="middle" font-size="9">{}</text>"#,
        x + (bar_w - 2.0) / 2.0,
        short_ratio(ratio)
    );
}

/// A colour swatch per user city along the bottom.
fn city_legend(svg: &mut String, tables: &[CityTable]) {
    for (c, table) in tables.iter().enumerate() {
        let lx = LEFT + 160.0 * c as f64;
        let ly = HEIGHT - 22.0;
        let _ = writeln!(
            svg,
            r#"<rect x="{lx}" y="{:.1}" width="12" height="12" fill="{}"/><text x="{:.1}" y="{ly}">user in {}</text>"#,
            ly - 10.0,
            COLORS[c % COLORS.len()],
            lx + 16.0,
            table.city
        );
    }
}

/// A ratio in as few characters as it needs: `17`, `3.5`, `0.12`.
fn short_ratio(ratio: f64) -> String {
    match ratio {
        r if r >= 10.0 => format!("{r:.0}"),
        r if r >= 1.0 => format!("{r:.1}"),
        r => format!("{r:.2}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> CityTable {
        let s = |ms: u64| Summary::of(&[Duration::from_millis(ms)]).expect("one sample");
        CityTable {
            city: "rome".into(),
            colo: "FCO".into(),
            user_to_pop: Duration::from_millis(1),
            rows: Step::ALL
                .iter()
                .map(|&step| Row {
                    step,
                    single: s(120),
                    multi: s(20),
                    floor_single: Duration::from_millis(74),
                    floor_multi: Duration::from_millis(12),
                    served_multi: "miss ×1".into(),
                    origin_multi: None,
                })
                .collect(),
        }
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let samples: Vec<Duration> = (1..=20).map(Duration::from_millis).collect();
        let s = Summary::of(&samples).expect("samples");
        assert_eq!(
            (s.p50, s.p95),
            (Duration::from_millis(10), Duration::from_millis(19))
        );
        assert!(Summary::of(&[]).is_none());
    }

    #[test]
    fn rendered_tables_pass_the_shape_check() {
        let tables = vec![table(), table()];
        let markdown = journey_markdown(&tables, &tables);
        check_tables(&markdown, 2).expect("well-formed");
        assert!(check_tables(&markdown, 3).is_err());
        assert!(check_tables(&markdown.replace("120.0", "n/a"), 2).is_err());
        let without_dev = journey_markdown(&tables, &[]);
        assert!(without_dev.contains("| – | – |"));
        assert!(
            check_tables(&without_dev, 2).is_err(),
            "the dev columns are measured"
        );
        let svg = ratio_svg(&tables);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<rect x=").count(), 2 * Step::ALL.len() + 2);
    }
}
