// The diagnostic page: who and where you are (with the map of you, the PoP and the regions),
// then ping the edge and every region from this browser, N times or continuously, and chart
// min/p50/p95 per target with the server-timing breakdown of the latest ping; and one request
// traced hop by hop (see waterfall.js).

import { api, whereAmI } from './api.js';
import { drawChart, fmt, summarise } from './chart.js';
import { drawMap, healthOf } from './map.js';
import { el, guard, say, showAsPicker } from './shell.js';
import { bars, drawWaterfall, newTraceparent, parseEntries, traceIdOf } from './waterfall.js';

const KEEP = 500;
const AUTO_EVERY_MS = 2000;
const $ = (id) => document.getElementById(id);

/** [{id, label, url, samples, failures, last}] — the edge first, then each region. */
let targets = [];
let running = false;
/** What the map needs: where we are, and each region as /api/v1/cities and /regions say. */
let where = null;
let regionInfo = [];

function target(id, label, url) {
  return { id, label, url, samples: [], failures: 0, last: null, breaker: null };
}

/** Asks the edge which regions it believes healthy (its breakers, each region's report). */
async function refreshBreakers() {
  try {
    const { data } = await api('GET', '/api/v1/regions');
    for (const r of data?.regions ?? []) {
      const t = targets.find((x) => x.id === r.name);
      if (t) t.breaker = r.consecutive_failures ? `${r.breaker} (${r.consecutive_failures} failed)` : r.breaker;
      const info = regionInfo.find((x) => x.name === r.name);
      if (info) Object.assign(info, { breaker: r.breaker, report: r.report ?? null });
    }
  } catch {
    // The ping rows already say what is wrong; the breaker column just keeps its last value.
  }
}

const lag = (standbys) => {
  if (!standbys?.length) return 'no standby';
  return standbys.map((s) => `${s.name}: ${s.lag_secs == null ? '0' : s.lag_secs.toFixed(1)} s`).join(', ');
};

/** The map and the regions' table, from what the pings and /api/v1/regions found. */
function renderWorld() {
  const rtt = (id) => {
    const t = targets.find((x) => x.id === id);
    if (id === 'edge') return summarise(t?.samples ?? []).p50;
    // A failed ping's origin_ms is how long the edge waited, not a round trip.
    return t?.last?.status === 'ok' ? t.last.originMs ?? null : null;
  };
  const regions = regionInfo.map((r) => ({ ...r, health: healthOf(r), rttMs: rtt(r.name) }));
  const you = where && Number.isFinite(where.latitude) && Number.isFinite(where.longitude)
    ? { lat: where.latitude, lon: where.longitude, colo: where.colo, rttMs: rtt('edge') } : null;
  drawMap($('map'), you, regions);
  $('regions').tBodies[0].replaceChildren(...regions.map((r) => el('tr', { 'data-region': r.name },
    el('th', { scope: 'row' }, r.name, el('span', { class: 'muted where', text: r.label })),
    cell(r.health, { 'data-stat': 'health', title: (r.report?.reasons ?? []).join('; ') }),
    cell(r.report?.primary ?? '–'),
    cell(r.report ? lag(r.report.standbys) : '–'),
    cell(r.report?.jobs ? `${r.report.jobs.pending} pending, ${r.report.jobs.dead} dead` : '–'),
    cell(r.breaker ?? '–'),
    cell(fmt(r.rttMs)))));
}

/** Sends one traced request and draws its hops. */
async function traceOne() {
  const city = regionInfo.find((r) => r.name === where?.region)?.cities?.[0] ?? regionInfo[0]?.cities?.[0];
  if (!city) throw new Error('No city to ask about.');
  const traceparent = newTraceparent();
  const started = performance.now();
  const response = await fetch(`/api/v1/cities/${encodeURIComponent(city)}/vehicles?limit=5`,
    { headers: { traceparent, accept: 'application/json' }, cache: 'no-store' });
  const total = performance.now() - started;
  await response.arrayBuffer();
  const traceId = traceIdOf(response.headers.get('traceresponse'));
  const rows = bars(parseEntries(response.headers.get('server-timing')), total);
  // Shown before drawing: the waterfall is drawn to the width it has on the page.
  $('trace-result').hidden = false;
  drawWaterfall($('waterfall'), rows);
  $('hops').tBodies[0].replaceChildren(...rows.map((r) => el('tr', { 'data-kind': r.kind },
    el('th', { scope: 'row', text: r.label }), cell(fmt(r.start)), cell(fmt(r.dur)))));
  $('trace-id').textContent = traceId ?? 'none';
  const cache = response.headers.get('x-roam-cache');
  say($('trace-status'), `HTTP ${response.status} from ${response.headers.get('x-roam-served-by') || 'the edge'}` +
    `${cache ? ` (cache: ${cache})` : ''} in ${fmt(total)} ms.`, response.ok ? 'good' : 'bad');
}

async function ping(t) {
  try {
    const { data, ms, timing } = await api('GET', t.url);
    const ok = t.id === 'edge' ? data?.pong === true : data?.status === 'ok';
    t.last = { ms, timing, status: ok ? 'ok' : data?.status || 'error', originMs: data?.origin_ms };
    if (ok) {
      t.samples.push(ms);
      if (t.samples.length > KEEP) t.samples.shift();
    } else {
      t.failures += 1;
    }
  } catch (e) {
    t.failures += 1;
    t.last = { ms: null, timing: {}, status: e.status ? `HTTP ${e.status}` : 'unreachable' };
  }
}

function cell(text, attrs = {}) {
  return el('td', { text, ...attrs });
}

function render() {
  renderWorld();
  drawChart($('chart'), targets);
  $('stats').tBodies[0].replaceChildren(
    ...targets.map((t) => {
      const s = summarise(t.samples);
      const stat = (name) => cell(fmt(s[name]), { 'data-target': t.id, 'data-stat': name });
      return el('tr', {}, el('th', { scope: 'row', text: t.label }), cell(String(s.count)),
        stat('min'), stat('p50'), stat('p95'), cell(String(t.failures)),
        cell(t.id === 'edge' ? '' : t.breaker ?? '–', { 'data-target': t.id, 'data-stat': 'breaker' }));
    }),
  );
  $('timing').tBodies[0].replaceChildren(
    ...targets.map((t) => {
      const last = t.last;
      const edge = last?.timing?.edge;
      const origin = last?.timing?.origin ?? last?.originMs;
      // What neither the worker nor the origin accounts for: the network between browser and edge.
      const known = edge != null || origin != null;
      const network = last?.ms != null && known ? Math.max(0, last.ms - (edge ?? 0) - (origin ?? 0)) : null;
      return el('tr', { 'data-target': t.id }, el('th', { scope: 'row', text: t.label }),
        cell(fmt(last?.ms)), cell(fmt(edge)), cell(fmt(origin)), cell(fmt(network)),
        cell(last?.status ?? '–'));
    }),
  );
}

async function rounds(count) {
  if (running) return;
  running = true;
  $('ping-run').disabled = true;
  try {
    for (let i = 1; i <= count; i++) {
      for (const t of targets) await ping(t);
      render();
      say($('ping-status'), `Round ${i} of ${count} done.`);
    }
    await refreshBreakers();
    render();
    const failed = targets.filter((t) => t.last && t.last.status !== 'ok').map((t) => t.id);
    say($('ping-status'), failed.length ? `Done; no answer from ${failed.join(', ')}.` : `Done: ${count} pings per target.`,
      failed.length ? 'bad' : 'good');
  } finally {
    running = false;
    $('ping-run').disabled = false;
  }
}

async function auto() {
  while ($('ping-auto').checked) {
    await rounds(1);
    await new Promise((resolve) => setTimeout(resolve, AUTO_EVERY_MS));
  }
}

async function loadTargets() {
  targets = [target('edge', 'edge', '/ping')];
  try {
    const [{ data }, places] = await Promise.all([api('GET', '/api/v1/regions'), api('GET', '/api/v1/cities')]);
    const located = Object.fromEntries((places.data?.regions ?? []).map((r) => [r.name, r]));
    for (const r of data?.regions ?? []) {
      targets.push({ ...target(r.name, r.name, `/ping/${encodeURIComponent(r.name)}`), breaker: r.breaker });
      const at = located[r.name] ?? {};
      regionInfo.push({ name: r.name, label: r.label, lat: at.lat, lon: at.lon, cities: r.cities,
        breaker: r.breaker, report: r.report ?? null });
    }
  } catch (e) {
    say($('ping-status'), `Could not list the regions: ${e.message} Only the edge will be pinged.`, 'bad');
  }
  render();
}

async function loadWhere() {
  try {
    const found = await whereAmI();
    where = found.pong;
    for (const dd of document.querySelectorAll('#you [data-fact]')) {
      dd.textContent = found.pong[dd.dataset.fact] || 'unknown';
    }
    showAsPicker(found);
  } catch (e) {
    say($('you-status'), `The edge did not answer: ${e.message}`, 'bad');
  }
}

function start() {
  $('ping-form').addEventListener('submit', guard($('ping-status'), async (event) => {
    event.preventDefault();
    const n = Math.min(100, Math.max(1, Number.parseInt($('ping-count').value, 10) || 10));
    await rounds(n);
  }));
  $('ping-auto').addEventListener('change', guard($('ping-status'), auto));
  let resizing = null;
  window.addEventListener('resize', () => {
    clearTimeout(resizing);
    resizing = setTimeout(render, 150);
  });
  $('ping-reset').addEventListener('click', () => {
    for (const t of targets) Object.assign(t, { samples: [], failures: 0, last: null });
    render();
    say($('ping-status'), 'Cleared.');
  });
  $('trace-form').addEventListener('submit', guard($('trace-status'), async (event) => {
    event.preventDefault();
    $('trace-run').disabled = true;
    try {
      await traceOne();
    } finally {
      $('trace-run').disabled = false;
    }
  }));
  $('trace-copy').addEventListener('click', guard($('trace-status'), async () => {
    await navigator.clipboard.writeText($('trace-id').textContent);
    say($('trace-status'), 'Trace id copied.', 'good');
  }));
  guard($('you-status'), async () => {
    await Promise.all([loadWhere(), loadTargets()]);
    render();
    document.body.dataset.ready = 'true';
  })();
}

start();
