// The world as this product sees it: the user, the PoP that answered and each region, drawn
// as SVG from the region map's coordinates (no tiles: an equirectangular graticule framed to
// the points), the measured round trip on each line and each region's health (its own report
// and the edge's breaker). Colour is never the only signal: every region's label says it.

const SVG = 'http://www.w3.org/2000/svg';

/** The drawing's size: the width it has on the page (so its text stays readable on a phone). */
function size(svg) {
  const W = Math.max(300, Math.round(svg.clientWidth || 640));
  return { W, H: Math.round(Math.max(200, W * 0.47)) };
}

function node(tag, attrs, text) {
  const n = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  if (text !== undefined) n.textContent = text;
  return n;
}

/**
 * A projection framing every point (lon/lat degrees) with a margin: a few degrees, and room
 * in pixels for the labels beside the outermost points.
 */
function frame(points, { W, H }) {
  const [pad, margin] = [4, 40];
  const [iw, ih] = [W - 2 * margin, H - 2 * margin];
  const lons = points.map((p) => p.lon);
  const lats = points.map((p) => p.lat);
  let [w, e] = [Math.min(...lons) - pad, Math.max(...lons) + pad];
  let [s, n] = [Math.min(...lats) - pad, Math.max(...lats) + pad];
  // Keep the map's aspect: widen whichever side is short.
  const wantLat = ((e - w) * ih) / iw;
  if (n - s < wantLat) {
    const grow = (wantLat - (n - s)) / 2;
    [s, n] = [s - grow, n + grow];
  } else {
    const grow = (((n - s) * iw) / ih - (e - w)) / 2;
    [w, e] = [w - grow, e + grow];
  }
  // The graticule runs over the margins too: the degrees they stand for.
  const [dx, dy] = [(margin * (e - w)) / iw, (margin * (n - s)) / ih];
  return {
    x: (lon) => margin + ((lon - w) / (e - w)) * iw,
    y: (lat) => margin + ((n - lat) / (n - s)) * ih,
    w: w - dx, e: e + dx, s: s - dy, n: n + dy, W, H,
  };
}

/** A region's health in one word, from its report and the edge's breaker. */
export function healthOf(region) {
  const report = region?.report?.status;
  if (region?.breaker === 'open') return 'down';
  if (report === 'ok' && region?.breaker === 'closed') return 'ok';
  if (report === 'ok' || report === 'degraded') return 'degraded';
  if (report) return report === 'unreachable' ? 'down' : report;
  return 'unknown';
}

/**
 * Draws the map into `svg`. `you`: {lat, lon, colo, rttMs}; `regions`: [{name, label, lat,
 * lon, health, rttMs}] (rttMs: edge→origin round trip).
 */
export function drawMap(svg, you, all) {
  // A region the city map did not place (it failed to load) stays in the table only.
  const regions = all.filter((r) => Number.isFinite(r.lat) && Number.isFinite(r.lon));
  const points = regions.map((r) => ({ lat: r.lat, lon: r.lon }));
  if (you) points.push({ lat: you.lat, lon: you.lon });
  if (points.length === 0) return;
  const p = frame(points, size(svg));
  const { W, H } = p;
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  const layers = [node('rect', { x: 0, y: 0, width: W, height: H, class: 'map-sea' })];
  for (let lon = Math.ceil(p.w / 15) * 15; lon <= p.e; lon += 15) {
    layers.push(node('line', { x1: p.x(lon), y1: 0, x2: p.x(lon), y2: H, class: 'map-grid' }));
  }
  for (let lat = Math.ceil(p.s / 15) * 15; lat <= p.n; lat += 15) {
    layers.push(node('line', { x1: 0, y1: p.y(lat), x2: W, y2: p.y(lat), class: 'map-grid' }));
  }
  const ms = (v) => (v == null ? '–' : `${v < 10 ? v.toFixed(1) : v.toFixed(0)} ms`);
  // Text beside a point goes towards the middle of the map, so it is never cut at the edge.
  const inward = (x) => (x > W / 2 ? { dx: -1, anchor: 'end' } : { dx: 1, anchor: 'start' });
  // The page knows the PoP only by its code (Cloudflare gives no coordinates for it): it is
  // drawn just beside the user, towards the middle, where the nearest PoP nearly always is.
  let pop = null;
  if (you) {
    const [x, y] = [p.x(you.lon), p.y(you.lat)];
    pop = { x: x + 16 * inward(x).dx, y: y + 16 };
  }
  for (const r of regions) {
    if (!pop) break;
    const [x, y] = [p.x(r.lon), p.y(r.lat)];
    layers.push(node('line', { x1: pop.x, y1: pop.y, x2: x, y2: y, class: `map-link map-${r.health}`, 'data-region': r.name }));
    // Nearer the region than the PoP: the lines fan out from the PoP, their labels do not.
    const [lx, ly] = [pop.x + (x - pop.x) * 0.6, pop.y + (y - pop.y) * 0.6];
    layers.push(node('text', { x: lx, y: ly - 5, class: 'map-rtt', 'text-anchor': 'middle', 'data-rtt': r.name }, ms(r.rttMs)));
  }
  for (const r of regions) {
    const [x, y] = [p.x(r.lon), p.y(r.lat)];
    const side = inward(x);
    const g = node('g', { 'data-region': r.name, 'data-health': r.health });
    g.append(
      node('circle', { cx: x, cy: y, r: 7, class: `map-region map-${r.health}` }),
      node('text', { x: x + 10 * side.dx, y: y - 4, class: 'map-label', 'text-anchor': side.anchor }, r.name),
      node('text', { x: x + 10 * side.dx, y: y + 10, class: 'map-sub', 'text-anchor': side.anchor }, r.health),
    );
    layers.push(g);
  }
  if (you) {
    const [x, y] = [p.x(you.lon), p.y(you.lat)];
    const side = inward(x);
    layers.push(node('line', { x1: x, y1: y, x2: pop.x, y2: pop.y, class: 'map-link map-you' }));
    layers.push(node('text', { x: pop.x, y: pop.y + 18, class: 'map-rtt', 'text-anchor': side.anchor, 'data-rtt': 'edge' },
      `PoP ${you.colo || ''} · ${ms(you.rttMs)}`));
    layers.push(node('circle', { cx: pop.x, cy: pop.y, r: 5, class: 'map-pop' }));
    layers.push(node('circle', { cx: x, cy: y, r: 6, class: 'map-you-dot', 'data-you': '' }));
    // "you" on the outer side: the region labels and round trips are towards the middle.
    layers.push(node('text', { x: x - 10 * side.dx, y: y - 8, class: 'map-label', 'text-anchor': side.anchor === 'end' ? 'start' : 'end' }, 'you'));
  }
  // The <title> stays: it is the map's accessible name (aria-labelledby).
  const title = svg.querySelector('title');
  svg.replaceChildren(...(title ? [title] : []), ...layers);
}
