// The diagnostic page: who and where you are, then ping the edge and every region from this
// browser, N times or continuously, and chart min/p50/p95 per target with the server-timing
// breakdown of the latest ping.

import { api, whereAmI } from './api.js';
import { drawChart, fmt, summarise } from './chart.js';
import { el, guard, say, showAsPicker } from './shell.js';

const KEEP = 500;
const AUTO_EVERY_MS = 2000;
const $ = (id) => document.getElementById(id);

/** [{id, label, url, samples, failures, last}] — the edge first, then each region. */
let targets = [];
let running = false;

function target(id, label, url) {
  return { id, label, url, samples: [], failures: 0, last: null, breaker: null };
}

/** Asks the edge which regions it believes healthy (its circuit breakers). */
async function refreshBreakers() {
  try {
    const { data } = await api('GET', '/api/v1/regions');
    for (const r of data?.regions ?? []) {
      const t = targets.find((x) => x.id === r.name);
      if (t) t.breaker = r.consecutive_failures ? `${r.breaker} (${r.consecutive_failures} failed)` : r.breaker;
    }
  } catch {
    // The ping rows already say what is wrong; the breaker column just keeps its last value.
  }
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
    const { data } = await api('GET', '/api/v1/regions');
    for (const r of data?.regions ?? []) {
      targets.push({ ...target(r.name, r.name, `/ping/${encodeURIComponent(r.name)}`), breaker: r.breaker });
    }
  } catch (e) {
    say($('ping-status'), `Could not list the regions: ${e.message} Only the edge will be pinged.`, 'bad');
  }
  render();
}

async function loadWhere() {
  try {
    const where = await whereAmI();
    for (const dd of document.querySelectorAll('#you [data-fact]')) {
      dd.textContent = where.pong[dd.dataset.fact] || 'unknown';
    }
    showAsPicker(where);
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
  guard($('you-status'), async () => {
    await Promise.all([loadWhere(), loadTargets()]);
    document.body.dataset.ready = 'true';
  })();
}

start();
