// The latency chart, drawn as SVG by hand: per target a bar from min to p95, a mark at p50,
// the numbers, and a sparkline of the latest samples. A table next to it carries the same
// numbers for screen readers (the SVG is aria-hidden).

const SVG = 'http://www.w3.org/2000/svg';
const ROW = 58;
const LEFT = 4;
const SPARK_SAMPLES = 40;

/** Nearest-rank percentile of a sorted array. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** {count, min, p50, p95} of a list of milliseconds. */
export function summarise(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    count: sorted.length,
    min: sorted.length ? sorted[0] : null,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
  };
}

export function fmt(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '–';
  return ms < 10 ? ms.toFixed(1) : ms.toFixed(0);
}

function node(tag, attrs, text) {
  const n = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  if (text !== undefined) n.textContent = text;
  return n;
}

/** A round upper bound for the axis: 1, 2 or 5 × 10^n above `ms`. */
function niceMax(ms) {
  const floor = Math.max(ms, 1);
  const power = 10 ** Math.floor(Math.log10(floor));
  return [1, 2, 5, 10].map((m) => m * power).find((v) => v >= floor) ?? floor;
}

/**
 * Redraws `svg` for rows [{id, label, samples: [ms], failures}]; every row shares one axis.
 */
export function drawChart(svg, rows) {
  // One SVG unit per CSS pixel, so the 12 px labels stay 12 px from a phone to a wide screen.
  const WIDTH = Math.max(300, Math.round(svg.getBoundingClientRect().width) || 360);
  const RIGHT = WIDTH - 4;
  const stats = rows.map((r) => summarise(r.samples));
  const top = Math.max(1, ...stats.map((s) => s.p95 ?? 0), ...rows.flatMap((r) => r.samples.slice(-SPARK_SAMPLES)));
  const max = niceMax(top * 1.1);
  const x = (ms) => LEFT + ((RIGHT - LEFT) * Math.min(ms, max)) / max;
  const height = rows.length * ROW + 22;
  svg.setAttribute('viewBox', `0 0 ${WIDTH} ${height}`);
  svg.replaceChildren();

  rows.forEach((row, i) => {
    const s = stats[i];
    const y = i * ROW;
    const g = node('g', { 'data-target': row.id });
    g.append(node('text', { x: LEFT, y: y + 14, 'font-weight': 600 }, row.label));
    const failed = row.failures ? ` · ${row.failures} failed` : '';
    const numbers = s.count
      ? `min ${fmt(s.min)} · p50 ${fmt(s.p50)} · p95 ${fmt(s.p95)} ms${failed}`
      : row.failures ? `no answer${failed}` : 'not measured yet';
    g.append(node('text', { x: RIGHT, y: y + 14, 'text-anchor': 'end', class: s.count ? '' : 'failed' }, numbers));
    g.append(node('line', { x1: LEFT, x2: RIGHT, y1: y + 28, y2: y + 28, class: 'axis' }));
    if (s.count) {
      g.append(node('rect', { x: x(s.min), y: y + 21, width: Math.max(2, x(s.p95) - x(s.min)), height: 14, rx: 3, class: 'range' }));
      g.append(node('rect', { x: x(s.p50) - 1.5, y: y + 18, width: 3, height: 20, class: 'p50' }));
      const recent = row.samples.slice(-SPARK_SAMPLES);
      const step = (RIGHT - LEFT) / Math.max(1, recent.length - 1);
      const points = recent.map((ms, j) => `${(LEFT + j * step).toFixed(1)},${(y + 54 - (14 * Math.min(ms, max)) / max).toFixed(1)}`);
      if (points.length > 2) g.append(node('polyline', { points: points.join(' '), class: 'spark' }));
    }
    svg.append(g);
  });

  const axisY = rows.length * ROW + 14;
  for (const tick of [0, max / 2, max]) {
    const anchor = tick === 0 ? 'start' : tick === max ? 'end' : 'middle';
    svg.append(node('text', { x: x(tick), y: axisY, 'text-anchor': anchor, class: 'muted' }, `${fmt(tick)} ms`));
  }
}
