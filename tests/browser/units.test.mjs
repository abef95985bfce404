// The pages' pure helpers, without a browser: percentiles and server-timing parsing.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fmt, percentile, summarise } from '../../edge/assets/js/chart.js';
import { parseServerTiming } from '../../edge/assets/js/api.js';

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
