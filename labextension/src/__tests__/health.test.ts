import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { healthLines } from '../format';

test('a model with no checks has no health lines', () => {
  assert.deepEqual(healthLines(undefined), []);
  assert.deepEqual(healthLines({ drift: null, performance: null }), []);
});

test('performance first, then drift; a drop and a drift are warnings', () => {
  const lines = healthLines({
    performance: { metric: 'auc', value: 0.7806, bar: 0.8445, verdict: 'drop', source: 'estimated', version: 1, checked: '', current: true },
    drift: { drifted: true, drifted_columns: ['a', 'b', 'c', 'd'], verdict: '', checked: '' }
  });
  assert.deepEqual(lines, [
    { kind: 'performance', warn: true, text: 'v1 auc 0.781 (estimated): drop' },
    { kind: 'drift', warn: true, text: 'drift: a, b, c, …' }
  ]);
  const calm = healthLines({
    performance: { metric: 'accuracy', value: null, bar: null, verdict: 'insufficient data', source: null, version: null, checked: '', current: true },
    drift: { drifted: false, drifted_columns: [], verdict: '', checked: '' }
  });
  assert.deepEqual(calm, [
    { kind: 'performance', warn: false, text: 'accuracy no value: insufficient data' },
    { kind: 'drift', warn: false, text: 'no drift' }
  ]);
});

test('a drop on a version production has left is history, not a warning', () => {
  const [line] = healthLines({
    performance: { metric: 'auc', value: 0.7806, bar: 0.8445, verdict: 'drop', source: 'estimated', version: 1, checked: '', current: false },
    drift: null
  });
  assert.deepEqual(line, { kind: 'performance', warn: false, text: 'v1 auc 0.781 (estimated): drop (before the current production)' });
});
