// The pages' pure helpers, without a browser: percentiles, server-timing parsing, the
// waterfall's placement of hops and a region's health in one word.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fmt, percentile, summarise } from '../../edge/assets/js/chart.js';
import { parseServerTiming } from '../../edge/assets/js/api.js';
import { healthOf } from '../../edge/assets/js/map.js';
import { bars, newTraceparent, parseEntries, traceIdOf } from '../../edge/assets/js/waterfall.js';

describe('chart numbers', () => {
  it('uses nearest-rank percentiles', () => {
    const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    assert.equal(percentile(sorted, 50), 5);
    assert.equal(percentile(sorted, 95), 10);
    assert.equal(percentile([7], 95), 7);
    assert.equal(percentile([], 50), null);
  });

  it('summarises unsorted samples', () => {
    assert.deepEqual(summarise([30, 10, 20]), { count: 3, min: 10, p50: 20, p95: 30 });
    assert.deepEqual(summarise([]), { count: 0, min: null, p50: null, p95: null });
  });

  it('formats small numbers with a decimal and missing ones as a dash', () => {
    assert.equal(fmt(3.14159), '3.1');
    assert.equal(fmt(123.4), '123');
    assert.equal(fmt(null), '–');
  });
});

describe('server-timing', () => {
  it('reads each entry\'s duration', () => {
    assert.deepEqual(parseServerTiming('edge;dur=1.5, origin;desc="eu-west";dur=12'), { edge: 1.5, origin: 12 });
  });

  it('tolerates missing headers, empty entries and entries without dur', () => {
    assert.deepEqual(parseServerTiming(null), {});
    assert.deepEqual(parseServerTiming('cache, ,edge;dur=2'), { cache: null, edge: 2 });
  });
});

describe('the waterfall of one request', () => {
  // What the edge and an eu-west origin answered for a list that missed the cache, the
  // origin also reading a row on us-east.
  const HEADER = 'edge;dur=22.0;desc="total 46.0", cache;dur=2.0;start=1.0;desc="miss", '
    + 'attempt;dur=24.0;start=3.0;desc="eu-west ok", origin;dur=24.0, app;dur=16.0;start=0.0, '
    + 'db;dur=3.0;start=1.0;desc="eu-west", db;dur=8.0;start=5.0;desc="us-east"';

  it('reads start, duration and description, commas inside quotes included', () => {
    const entries = parseEntries(`${HEADER}, x;desc="a, b";dur=1`);
    assert.deepEqual(entries[1], { name: 'cache', dur: 2, start: 1, desc: 'miss' });
    assert.deepEqual(entries.at(-1), { name: 'x', dur: 1, start: null, desc: 'a, b' });
    assert.deepEqual(parseEntries(null), []);
  });

  it('places each hop inside the one that caused it, another region marked as such', () => {
    const rows = bars(parseEntries(HEADER), 60);
    assert.deepEqual(rows.map((r) => r.kind), ['total', 'edge', 'cache', 'attempt', 'app', 'db', 'remote']);
    const [total, edge, cache, attempt, app, db, remote] = rows;
    assert.deepEqual([total.start, total.dur], [0, 60]);
    // 14 ms the edge does not account for: 7 each way.
    assert.deepEqual([edge.start, edge.dur, cache.start, attempt.start], [7, 46, 8, 10]);
    // The handler in the middle of the attempt (4 ms network each way), its calls within it.
    assert.deepEqual([app.start, db.start, remote.start], [14, 15, 19]);
    assert.equal(remote.label, 'other region: us-east');
    assert.equal(db.label, 'database eu-west');
  });

  it('shows no origin part when the cache answered, and a failed attempt as failed', () => {
    const hit = bars(parseEntries('edge;dur=2.0;desc="total 2.0", cache;dur=1.0;start=0.5;desc="hit"'), 10);
    assert.deepEqual(hit.map((r) => r.kind), ['total', 'edge', 'cache']);
    const failover = bars(parseEntries('edge;dur=1;desc="total 30", attempt;dur=10;start=1;desc="eu-west timeout", '
      + 'attempt;dur=15;start=12;desc="us-east ok (failover)", app;dur=5;start=0'), 40);
    assert.deepEqual(failover.map((r) => r.kind), ['total', 'edge', 'failed', 'attempt', 'app']);
    assert.equal(failover[4].start, 5 + 12 + 5, 'the handler sits in the attempt that answered');
  });

  it('reads the trace id of a traceresponse and makes sampled traceparents', () => {
    assert.equal(traceIdOf('00-5bf92f3577b34da6a3ce929d0e0e4736-b7210b06247003c2-01'), '5bf92f3577b34da6a3ce929d0e0e4736');
    assert.equal(traceIdOf('garbage'), null);
    assert.equal(traceIdOf(null), null);
    assert.match(newTraceparent(), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });
});

describe("a region's health in one word", () => {
  it('needs both its report and the breaker to say ok', () => {
    assert.equal(healthOf({ breaker: 'closed', report: { status: 'ok' } }), 'ok');
    assert.equal(healthOf({ breaker: 'half-open', report: { status: 'ok' } }), 'degraded');
    assert.equal(healthOf({ breaker: 'closed', report: { status: 'degraded' } }), 'degraded');
    assert.equal(healthOf({ breaker: 'open', report: { status: 'ok' } }), 'down');
    assert.equal(healthOf({ breaker: 'closed', report: { status: 'unreachable' } }), 'down');
    assert.equal(healthOf({ breaker: 'closed', report: null }), 'unknown');
  });
});
