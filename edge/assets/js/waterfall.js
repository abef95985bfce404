// One request's hops as a waterfall, from what its response carries: `server-timing` (the
// edge's `edge`, `cache` and each origin `attempt`, with `start` offsets from the edge's start;
// then the answering origin's `app` and each `db` call, with offsets from the origin's start)
// and `traceresponse` (the trace id to quote). A `db` entry on another region's node is drawn
// as a call to that region. No clock is shared, so two placements are guesses, said so on the
// page: the edge's part sits after half of the browser↔edge network time, and the origin's
// part in the middle of the attempt that got the answer (the network split evenly both ways).

const SVG = 'http://www.w3.org/2000/svg';
const ROW = 22;
const LABEL = 150;

/** Parses `server-timing` into [{name, dur, start, desc}] in header order. */
export function parseEntries(header) {
  const out = [];
  for (const entry of (header || '').split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/)) {
    const [name, ...params] = entry.trim().split(';');
    if (!name) continue;
    const e = { name: name.trim(), dur: null, start: null, desc: '' };
    for (const p of params) {
      const [k, ...rest] = p.trim().split('=');
      const v = rest.join('=').replace(/^"|"$/g, '');
      if (k === 'dur') e.dur = Number.parseFloat(v);
      else if (k === 'start') e.start = Number.parseFloat(v);
      else if (k === 'desc') e.desc = v;
    }
    out.push(e);
  }
  return out;
}

/** The trace id of a `traceresponse` (or `traceparent`) value, or null. */
export function traceIdOf(value) {
  const m = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec((value || '').trim());
  return m ? m[1] : null;
}

/** A fresh `traceparent` for a request this page starts (sampled). */
export function newTraceparent() {
  const hex = (n) => [...crypto.getRandomValues(new Uint8Array(n))].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `00-${hex(16)}-${hex(8)}-01`;
}

/**
 * The bars: [{kind, label, start, dur}] in ms from the browser's send. `total` is the
 * browser's measured round trip; the edge's own start is placed after half of what the edge
 * does not account for (the browser↔edge network, both ways).
 */
export function bars(entries, total) {
  const edge = entries.find((e) => e.name === 'edge');
  const edgeTotal = edge ? Number.parseFloat((/total ([\d.]+)/.exec(edge.desc) || [])[1]) : null;
  const atEdge = Number.isFinite(edgeTotal) ? edgeTotal : 0;
  const offset = Math.max(0, (total - atEdge) / 2);
  const out = [{ kind: 'total', label: 'you → edge → you', start: 0, dur: total }];
  if (atEdge) out.push({ kind: 'edge', label: 'edge (PoP)', start: offset, dur: atEdge });
  const attempts = [];
  for (const e of entries) {
    if (e.name === 'cache') out.push({ kind: 'cache', label: `cache ${e.desc}`, start: offset + (e.start ?? 0), dur: e.dur });
    if (e.name === 'attempt') {
      const bar = { kind: /\bok\b/.test(e.desc) ? 'attempt' : 'failed', label: `origin ${e.desc}`, start: offset + (e.start ?? 0), dur: e.dur,
        region: e.desc.split(' ')[0] };
      attempts.push(bar);
      out.push(bar);
    }
  }
  const app = entries.find((e) => e.name === 'app');
  const answered = attempts.filter((a) => a.kind === 'attempt').pop();
  if (app && answered) {
    const appStart = answered.start + Math.max(0, (answered.dur - app.dur) / 2);
    out.push({ kind: 'app', label: 'origin handler', start: appStart, dur: app.dur });
    // A node of the answering origin's own region is its database; any other is a call to
    // another region (the user's home, or the data's when the origin stood in for it).
    for (const e of entries.filter((x) => x.name === 'db')) {
      const own = e.desc === answered.region;
      out.push({ kind: own ? 'db' : 'remote', label: own ? `database ${e.desc}` : `other region: ${e.desc}`,
        start: appStart + (e.start ?? 0), dur: e.dur });
    }
  }
  return out;
}

function node(tag, attrs, text) {
  const n = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  if (text !== undefined) n.textContent = text;
  return n;
}

/** Draws `rows` (from `bars`) into the SVG element `svg`. */
export function drawWaterfall(svg, rows) {
  const width = Math.max(320, svg.clientWidth || 640);
  const span = Math.max(1, ...rows.map((r) => r.start + r.dur));
  const scale = (width - LABEL - 60) / span;
  svg.setAttribute('viewBox', `0 0 ${width} ${rows.length * ROW + 4}`);
  svg.replaceChildren(...rows.map((r, i) => {
    const g = node('g', { 'data-kind': r.kind, transform: `translate(0 ${i * ROW + 2})` });
    g.append(
      node('text', { x: 0, y: 14, class: 'wf-label' }, r.label),
      node('rect', { x: LABEL + r.start * scale, y: 3, width: Math.max(1.5, r.dur * scale), height: 14, class: `wf-bar wf-${r.kind}`, rx: 2 }),
      node('text', { x: LABEL + (r.start + r.dur) * scale + 4, y: 14, class: 'wf-ms' }, `${r.dur.toFixed(1)} ms`),
    );
    return g;
  }));
}
