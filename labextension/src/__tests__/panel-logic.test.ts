import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import type { AliasChange, LifecycleStage, ModelVersion } from '../api';
import {
  compactWarnings,
  compareMetrics,
  emptyRunsText,
  gateText,
  isActive,
  metricPairs,
  promotionMessage,
  renamedPath,
  rollbackTarget,
  sameJson,
  sortStages
} from '../panel-logic';

test('the same answer is the same JSON; any difference is not', () => {
  assert.ok(sameJson({ a: [1, { b: null }] }, { a: [1, { b: null }] }));
  assert.ok(!sameJson({ a: [1, { b: null }] }, { a: [1, { b: 0 }] }));
  assert.ok(sameJson(null, null));
  assert.ok(!sameJson(null, {}));
});

test('an empty list says which filter found nothing', () => {
  assert.match(emptyRunsText(''), /^No runs yet/);
  assert.equal(emptyRunsText('failed'), 'No failed runs.');
  assert.equal(emptyRunsText('skipped'), 'No skipped runs.');
  assert.equal(emptyRunsText('', 'schedule'), 'No schedule-triggered runs.');
  assert.ok(isActive('queued') && isActive('running') && !isActive('succeeded') && !isActive(null));
});

test('stale warnings collapse into one compact note per stage', () => {
  const w = compactWarnings([
    'stale: data ran again after it (attempt 2)',
    'stale: problem ran again after it (attempt 3)',
    'stale: data ran again after it (attempt 2)',
    'upstream data failed'
  ]);
  assert.deepEqual(w?.short, 'stale (data, problem ran again) · upstream data failed');
  assert.equal(w?.full.split('\n').length, 3);
  assert.equal(compactWarnings(['stale: the cell\'s code changed since it last ran'])?.short, 'stale (code changed)');
  assert.equal(compactWarnings([]), null);
});

test('a rename moves the notebook, or every notebook under a renamed folder', () => {
  assert.equal(renamedPath('a.ipynb', 'a.ipynb', 'b.ipynb'), 'b.ipynb');
  assert.equal(renamedPath('proj/x/a.ipynb', 'proj/x', 'proj/y'), 'proj/y/a.ipynb');
  assert.equal(renamedPath('proj/xy/a.ipynb', 'proj/x', 'proj/y'), null);
  assert.equal(renamedPath('other.ipynb', 'a.ipynb', 'b.ipynb'), null);
});

function version(v: number, metrics: Record<string, number | string>, extra: Partial<ModelVersion> = {}): ModelVersion {
  return {
    name: 'churn', version: v, created: '', flavour: 'sklearn', format: 'skops', digest: '', size: 1,
    metrics, gates: [], gates_passed: null, run_id: null, aliases: [], ...extra
  };
}

test('champion and challenger side by side, differences marked', () => {
  const rows = compareMetrics(version(2, { auc: 0.8, loss: 0.3 }), version(5, { auc: 0.85, loss: 0.3, f1: 0.7 }));
  assert.deepEqual(rows.map(r => [r.metric, r.champion, r.challenger, r.differs]), [
    ['auc', '0.8', '0.85', true],
    ['f1', '—', '0.7', true],
    ['loss', '0.3', '0.3', false]
  ]);
  assert.ok(Math.abs((rows[0].delta ?? 0) - 0.05) < 1e-12);
  assert.equal(rows[2].delta, null);
  // No champion yet: nothing to differ from.
  assert.deepEqual(compareMetrics(null, version(1, { auc: 0.8 })).map(r => r.differs), [false]);
});

test('gate outcomes in words', () => {
  assert.equal(gateText(version(1, {})), 'no quality gate');
  const failed = version(1, { auc: 0.6 }, {
    gates_passed: false,
    gates: [{ expression: 'auc > 0.7', passed: false, clauses: [{ clause: 'auc > 0.7', metric: 'auc', op: '>', threshold: 0.7, value: 0.6, passed: false }] }]
  });
  assert.equal(gateText(failed), 'gate failed: auc > 0.7 (got 0.6)');
});

function change(action: string, from: number | null, to: number | null, t: number, moved = true): AliasChange {
  return { model: 'churn', alias: 'production', action, from_version: from, to_version: to, moved, created: new Date(t * 1000).toISOString() };
}

test('the rollback target replays the alias history like the registry', () => {
  // newest first, as the API sends it
  const history = [change('promote', 2, 5, 3), change('refused', 2, 4, 2, false), change('promote', 1, 2, 1), change('promote', null, 1, 0)];
  assert.equal(rollbackTarget(history, 'production'), 2);
  assert.equal(rollbackTarget([change('rollback', 5, 2, 4), ...history], 'production'), 1);
  assert.equal(rollbackTarget([change('promote', null, 1, 0)], 'production'), null);
});

test('promotion messages', () => {
  assert.deepEqual(promotionMessage({ promoted: true, change: change('promote', 1, 2, 0) }), {
    text: 'production: v1 → v2 (promoted)',
    error: false
  });
  const refused = { ...change('refused', 2, 3, 0, false), reason: 'challenger v3 auc=0.7 is not > champion v2 auc=0.8' };
  assert.deepEqual(promotionMessage({ promoted: false, change: refused }), {
    text: 'production stays at v2: challenger v3 auc=0.7 is not > champion v2 auc=0.8',
    error: true
  });
});

test('run metrics as readable pairs', () => {
  const m = metricPairs({ accuracy: 0.84123, loss: 0.1, f1: 0.5, auc: 'nan' });
  assert.deepEqual(m.shown, [['accuracy', '0.8412'], ['loss', '0.1'], ['f1', '0.5']]);
  assert.equal(m.all, 'accuracy 0.8412\nloss 0.1\nf1 0.5\nauc nan');
});

test('stages sort in lifecycle order, then cell order', () => {
  const s = (kind: string, cell_index: number) => ({ kind, cell_index }) as LifecycleStage;
  const sorted = sortStages([s('train', 5), s('data', 9), s('train', 2)], ['data', 'train']);
  assert.deepEqual(sorted.map(x => [x.kind, x.cell_index]), [['data', 9], ['train', 2], ['train', 5]]);
});
