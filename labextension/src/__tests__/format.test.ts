import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { formatAgo, formatBytes, formatDuration, formatNumber, formatParam, formatSystem, isResultMetric, sparklinePoints, statusClass, storeLabel } from '../format';

test('durations', () => {
  assert.equal(formatDuration(null), '—');
  assert.equal(formatDuration(0.25), '250 ms');
  assert.equal(formatDuration(3.21), '3.2 s');
  assert.equal(formatDuration(125), '2 min 5 s');
  assert.equal(formatDuration(7260), '2 h 1 min');
});

test('times ago', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  const cases: [string | null, string][] = [
    ['2026-01-01T11:59:30Z', '30 s ago'],
    ['2026-01-01T11:30:00Z', '30 min ago'],
    ['2026-01-01T10:00:00Z', '2 h ago'],
    ['2025-12-30T10:00:00Z', '2025-12-30'],
    ['soon', 'soon'],
    [null, '—']
  ];
  for (const [iso, text] of cases) {
    assert.equal(formatAgo(iso, now), text);
  }
});

test('status classes only for known statuses', () => {
  assert.equal(statusClass('failed'), 'mlops-status-failed');
  assert.equal(statusClass('skipped'), 'mlops-status-skipped');
  assert.equal(statusClass('queued'), 'mlops-status-queued');
  assert.equal(statusClass('<img>'), 'mlops-status-never');
  assert.equal(statusClass(null), 'mlops-status-never');
});

test('metric values: four significant digits, no trailing zeros', () => {
  assert.equal(formatNumber(3), '3');
  assert.equal(formatNumber(0.91234), '0.9123');
  assert.equal(formatNumber(0.68), '0.68');
  assert.equal(formatNumber(0.1), '0.1');
  assert.equal(formatNumber(123456.7), '1.235e+5');
  assert.equal(formatNumber(0.00012), '1.2e-4');
  assert.equal(formatNumber(NaN), 'nan');
  assert.equal(formatNumber(-Infinity), '-inf');
  assert.equal(formatNumber('nan'), 'nan');
  assert.equal(formatNumber('a'), 'a');
});

test('parameters as given', () => {
  assert.equal(formatParam(0.1), '0.1');
  assert.equal(formatParam(0.05), '0.05');
  assert.equal(formatParam(200), '200');
  assert.equal(formatParam('gbm'), 'gbm');
  assert.equal(formatParam(true), 'true');
  assert.equal(formatParam(null), 'null');
  assert.equal(formatParam([1, 2]), '[1,2]');
});

test('sizes in binary units', () => {
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(143033), '139.7 KiB');
  assert.equal(formatBytes(2 * 1024 * 1024), '2.0 MiB');
  assert.equal(formatBytes(null), '—');
});

test('sparkline scales into the box and skips non-finite values', () => {
  const pts = sparklinePoints([{ step: 0, value: 0 }, { step: 1, value: NaN }, { step: 2, value: 1 }], 100, 10);
  assert.equal(pts, '0.0,10.0 100.0,0.0');
  assert.equal(sparklinePoints([{ step: 0, value: 5 }], 100, 10), '50.0,5.0');
  assert.equal(sparklinePoints([], 100, 10), '');
});

test('a store is named as people read it: a folder inside the root, else its URL', () => {
  assert.equal(storeLabel({ store: 'sqlite:////srv/lab/mlops-demo/.mlops/mlops.db', project: 'mlops-demo' }), 'mlops-demo/.mlops');
  assert.equal(storeLabel({ store: 'sqlite:////srv/lab/.mlops/mlops.db', project: '' }), '.mlops');
  assert.equal(storeLabel({ store: 'sqlite:////elsewhere/.mlops/mlops.db', project: null }), 'sqlite:////elsewhere/.mlops/mlops.db');
  assert.equal(storeLabel({ store: 'postgresql://me:***@db/mlops', project: 'team' }), 'postgresql://me:***@db/mlops');
  assert.equal(storeLabel({ store: null, project: null }), null);
});

test('formatSystem writes what a run cost as mlops show does, and nothing when unsampled', () => {
  assert.equal(formatSystem(undefined), '');
  assert.equal(formatSystem({}), '');
  assert.equal(
    formatSystem({ samples: 3, cpu: { avg: 1.83, peak: 2 }, rss: { avg: 1e9, peak: 3.1 * 1024 ** 3 }, gpu: { '0': { util_peak: 87.4, mem_peak: 2 * 1024 ** 3 } } }),
    'cpu 1.8 cores avg (peak 2), rss peak 3.1 GiB, gpu 0 util 87% mem 2.0 GiB'
  );
  assert.equal(isResultMetric('system.cpu'), false);
  assert.equal(isResultMetric('auc'), true);
});
