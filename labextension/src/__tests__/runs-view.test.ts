import { strict as assert } from 'node:assert';
import { test } from 'node:test';

process.env.TZ = 'UTC';

import {
  cellValue,
  chartedMetrics,
  columnsFor,
  compareFingerprints,
  compareHead,
  compareMetrics,
  compareParams,
  decodeTable,
  differs,
  emptyMessage,
  filterIndex,
  formatCell,
  formatDuration,
  formatNumber,
  formatParam,
  formatStarted,
  NO_FILTER,
  nextSort,
  niceTicks,
  parseConfig,
  patchRows,
  RunDetail,
  RunsTable,
  sortIndex,
  stepTicks,
  toggleColumn,
  visibleColumns
} from '../runs-view/model';

import { row, T0 } from './run-rows';

const table: RunsTable = {
  version: 'v1',
  unchanged: false,
  total: 3,
  statuses: ['queued', 'running', 'succeeded', 'failed', 'timed-out', 'killed', 'skipped'],
  notebooks: ['a.ipynb', 'b.ipynb'],
  notebook_paths: ['a.ipynb', null],
  columns: {
    id: ['r3', 'r2', 'r1'],
    notebook: [1, 0, 0],
    status: ['running', 'failed', 'succeeded'],
    trigger: ['schedule', 'manual', 'manual'],
    started: [T0 + 20, T0 + 10, T0],
    ended: [null, T0 + 12, T0 + 5],
    user: ['bob', 'alice', null],
    parent_run_id: [null, null, 'r0']
  },
  params: { lr: [0.1, null, 0.01], opt: ['adam', 'sgd', null] },
  metrics: { acc: [null, 0.7, 0.9], loss: ['nan', 0.5, 0.2] }
};

test('the columnar answer decodes to rows with missing values left out', () => {
  const rows = decodeTable(table);
  assert.equal(rows.length, 3);
  assert.deepEqual(rows[0], {
    id: 'r3',
    status: 'running',
    notebook: 'b.ipynb',
    notebookPath: null,
    trigger: 'schedule',
    user: 'bob',
    started: T0 + 20,
    ended: null,
    parent: null,
    params: { lr: 0.1, opt: 'adam' },
    metrics: { loss: 'nan' }
  });
  assert.deepEqual(rows[1].params, { opt: 'sgd' });
  assert.equal(rows[2].user, null); // a run recorded before runs recorded who started them
  assert.deepEqual(rows.map(r => r.parent), [null, null, 'r0']);
  assert.deepEqual(decodeTable({ version: 'v1', unchanged: true }), []);
});

test('columns: the run, then params, then metrics; hiding keeps the run id', () => {
  const cols = columnsFor(decodeTable(table));
  assert.deepEqual(
    cols.map(c => c.id),
    ['id', 'status', 'notebook', 'trigger', 'started', 'duration', 'user', 'metric:acc', 'metric:loss', 'param:lr',
      'param:opt']
  );
  const hidden = toggleColumn(toggleColumn([], 'metric:loss'), 'notebook');
  assert.deepEqual(hidden, ['metric:loss', 'notebook']);
  assert.deepEqual(toggleColumn(hidden, 'notebook'), ['metric:loss']);
  assert.deepEqual(toggleColumn(hidden, 'id'), hidden);
  assert.deepEqual(
    visibleColumns(cols, ['id', ...hidden]).map(c => c.id),
    ['id', 'status', 'trigger', 'started', 'duration', 'user', 'metric:acc', 'param:lr', 'param:opt']
  );
});

test('a stored config is validated; anything malformed falls back to the default', () => {
  assert.deepEqual(parseConfig({ hidden: ['b', 'a', 3, 'id'], sort: { column: 'metric:acc', dir: 'asc' } }), {
    hidden: ['a', 'b'],
    sort: { column: 'metric:acc', dir: 'asc' }
  });
  assert.deepEqual(parseConfig('junk'), { hidden: [], sort: { column: 'started', dir: 'desc' } });
  assert.deepEqual(parseConfig({ sort: { column: 'x', dir: 'sideways' } }).sort, { column: 'started', dir: 'desc' });
});

test('sorting: numbers numerically, missing and NaN last in both directions, ties keep their order', () => {
  const rows = [
    row('a', { metrics: { acc: 0.9 } }),
    row('b', { metrics: { acc: 10 } }),
    row('c'),
    row('d', { metrics: { acc: 'nan' } }),
    row('e', { metrics: { acc: 2 } }),
    row('f', { metrics: { acc: 2 } }),
    row('g', { metrics: { acc: 'inf' } })
  ];
  const all = rows.map((_, i) => i);
  const ids = (order: number[]) => order.map(i => rows[i].id).join('');
  assert.equal(ids(sortIndex(rows, all, { column: 'metric:acc', dir: 'desc' }, T0)), 'gbefacd');
  assert.equal(ids(sortIndex(rows, all, { column: 'metric:acc', dir: 'asc' }, T0)), 'aefbgcd');
  // 10 after 9, not between 1 and 2: numeric, not lexical.
  const p = [row('x', { params: { n: 9 } }), row('y', { params: { n: 10 } }), row('z', { params: { n: 'auto' } })];
  assert.equal(sortIndex(p, [0, 1, 2], { column: 'param:n', dir: 'asc' }, T0).map(i => p[i].id).join(''), 'xyz');
  // Text sorts naturally and case-insensitively; a subset keeps only its indices.
  const t = [row('1', { notebook: 'b10.ipynb' }), row('2', { notebook: 'B2.ipynb' }), row('3', { notebook: null })];
  assert.deepEqual(sortIndex(t, [0, 1, 2], { column: 'notebook', dir: 'asc' }, T0), [1, 0, 2]);
  assert.deepEqual(sortIndex(t, [2, 0], { column: 'notebook', dir: 'desc' }, T0), [0, 2]);
});

test('a running run has a duration counting to now; a queued one has none', () => {
  assert.equal(cellValue(row('r', { ended: null, status: 'running' }), 'duration', T0 + 7), 7);
  assert.equal(cellValue(row('q', { ended: null, status: 'queued' }), 'duration', T0 + 7), null);
  assert.equal(cellValue(row('s'), 'duration', T0 + 100), 3);
});

test('a header click sorts numbers descending first and flips on the second click', () => {
  const [, , , , started, , , , , lr] = columnsFor(decodeTable(table));
  const notebook = columnsFor([])[2];
  assert.deepEqual(nextSort({ column: 'started', dir: 'desc' }, lr), { column: 'param:lr', dir: 'desc' });
  assert.deepEqual(nextSort({ column: 'started', dir: 'desc' }, started), { column: 'started', dir: 'asc' });
  assert.deepEqual(nextSort({ column: 'started', dir: 'desc' }, notebook), { column: 'notebook', dir: 'asc' });
});

test('filters: status (queued and skipped too), notebook, words of free text', () => {
  const rows = [
    row('aaa1', { status: 'queued', params: { lr: 0.1 } }),
    row('bbb2', { status: 'skipped', notebook: 'b.ipynb', trigger: 'schedule' }),
    row('ccc3', { status: 'failed', params: { lr: 0.01 } })
  ];
  assert.deepEqual(filterIndex(rows, NO_FILTER), [0, 1, 2]);
  assert.deepEqual(filterIndex(rows, { ...NO_FILTER, status: 'queued' }), [0]);
  assert.deepEqual(filterIndex(rows, { ...NO_FILTER, status: 'skipped' }), [1]);
  assert.deepEqual(filterIndex(rows, { ...NO_FILTER, notebook: 'a.ipynb' }), [0, 2]);
  assert.deepEqual(filterIndex(rows, { ...NO_FILTER, text: 'lr=0.1' }), [0]);
  assert.deepEqual(filterIndex(rows, { ...NO_FILTER, text: 'lr=' }), [0, 2]);
  assert.deepEqual(filterIndex(rows, { ...NO_FILTER, text: 'LR=0.01 FAILED' }), [2]);
  assert.deepEqual(filterIndex(rows, { ...NO_FILTER, text: 'bbb schedule' }), [1]);
  assert.deepEqual(filterIndex(rows, { ...NO_FILTER, status: 'failed', text: 'bbb' }), []);
  const who = [row('u1', { user: 'alice' }), row('u2', { user: 'bob' }), row('u3', { user: null })];
  assert.deepEqual(filterIndex(who, { ...NO_FILTER, user: 'bob' }), [1]);
  assert.deepEqual(filterIndex(who, { ...NO_FILTER, text: 'alice' }), [0]);
  assert.equal(emptyMessage(3, { ...NO_FILTER, user: 'carol' }), 'No runs match by carol');
});

test('empty states say whether nothing ran or nothing matches', () => {
  assert.match(emptyMessage(0, NO_FILTER), /^No runs recorded yet/);
  assert.match(emptyMessage(0, { ...NO_FILTER, status: 'failed' }), /^No runs recorded yet/);
  assert.equal(emptyMessage(5, { ...NO_FILTER, status: 'failed' }), "No runs match 'failed'");
  assert.equal(emptyMessage(5, { status: 'queued', notebook: 'b.ipynb', user: '', text: ' lr=3 ' }), "No runs match 'queued' in b.ipynb 'lr=3'");
});

test('a poll patches in place: unchanged runs keep their objects', () => {
  const before = decodeTable(table);
  const same = patchRows(before, decodeTable(table));
  assert.deepEqual([same.added, same.changed, same.removed], [0, 0, 0]);
  assert.ok(same.rows.every((r, i) => r === before[i]));

  const next = JSON.parse(JSON.stringify(table)) as RunsTable;
  next.columns!.status[0] = 'succeeded';
  next.columns!.ended[0] = T0 + 30;
  next.columns!.id.unshift('r4');
  next.columns!.notebook.unshift(0);
  next.columns!.status.unshift('queued');
  next.columns!.trigger.unshift('manual');
  next.columns!.started.unshift(T0 + 40);
  next.columns!.ended.unshift(null);
  next.columns!.user.unshift('carol');
  next.columns!.parent_run_id.unshift(null);
  next.columns!.id.pop();
  const cols = next.columns!;
  for (const col of [cols.notebook, cols.status, cols.trigger, cols.started, cols.ended, cols.user, cols.parent_run_id]) {
    col.pop();
  }
  next.params = { lr: [null, 0.1, null], opt: [null, 'adam', 'sgd'] };
  next.metrics = { acc: [null, null, 0.7], loss: [null, 'nan', 0.5] };
  const patch = patchRows(before, decodeTable(next));
  assert.deepEqual([patch.added, patch.changed, patch.removed], [1, 1, 1]);
  assert.equal(patch.rows[2], before[1]); // r2 untouched
  assert.notEqual(patch.rows[1], before[0]); // r3 finished: a new object
});

test('numbers as people read them', () => {
  assert.equal(formatNumber(0.1), '0.1');
  assert.equal(formatNumber(0.81234567), '0.8123');
  assert.equal(formatNumber(0.8), '0.8');
  assert.equal(formatNumber(143033), '143033');
  assert.equal(formatNumber(-7), '-7');
  assert.equal(formatNumber(12.5), '12.5');
  assert.equal(formatNumber(1234.5678), '1235');
  assert.equal(formatNumber(2.71e-93), '2.71e-93');
  assert.equal(formatNumber(0.0001234), '1.234e-4');
  assert.equal(formatNumber(3.5e9), '3.5e9');
  assert.equal(formatNumber(-0.25), '-0.25');
  assert.equal(formatNumber(0), '0');
  assert.equal(formatNumber('nan'), 'nan');
  assert.equal(formatNumber(Infinity), 'inf');
  assert.equal(formatNumber(undefined), '');
  assert.equal(formatParam(0.1), '0.1');
  assert.equal(formatParam(true), 'true');
  assert.equal(formatParam([1, 2]), '[1,2]');
  assert.equal(formatParam({ a: 1 }), '{"a":1}');
  assert.equal(formatParam(null), '');
  assert.equal(formatDuration(null), '');
  assert.equal(formatDuration(0.25), '250 ms');
  assert.equal(formatDuration(3.21), '3.2 s');
  assert.equal(formatDuration(125), '2 min 5 s');
  assert.equal(formatDuration(7260), '2 h 1 min');
  assert.equal(formatStarted(T0), '2026-03-01 10:00');
  const cols = columnsFor([]);
  assert.equal(formatCell(row('0123456789abcdef'), cols[0], T0), '01234567');
  assert.equal(formatCell(row('x'), cols[5], T0), '3.0 s');
});

const detail = (id: string, over: Partial<RunDetail>): RunDetail => ({ id, ...over }) as RunDetail;

test('compare marks the params and metrics that differ (missing differs too)', () => {
  const a = detail('a', { params: { lr: 0.1, depth: 3 } as any, metrics: { acc: 0.9, auc: 0.8 } });
  const b = detail('b', { params: { lr: 0.1, depth: 5, seed: 1 } as any, metrics: { acc: 0.9, auc: 0.85 } });
  assert.deepEqual(compareParams([a, b]), [
    { key: 'depth', values: ['3', '5'], differs: true },
    { key: 'lr', values: ['0.1', '0.1'], differs: false },
    { key: 'seed', values: ['', '1'], differs: true }
  ]);
  assert.deepEqual(
    compareMetrics([a, b]).map(r => [r.key, r.differs]),
    [
      ['acc', false],
      ['auc', true]
    ]
  );
  assert.equal(differs([1, 1, 1]), false);
  assert.equal(differs([1, '1']), false); // shown the same, so not marked
  assert.equal(differs([{ a: 1 }, { a: 1 }]), false);
  assert.equal(differs([null, undefined]), false);
  assert.equal(differs([0, null]), true);
});

test('compare shows the system row only when some run sampled what it cost the machine', () => {
  const unsampled = [detail('a', { status: 'succeeded', duration: 3 }), detail('b', { status: 'failed', system: {} })];
  assert.deepEqual(
    compareHead(unsampled).map(r => r.key),
    ['notebook', 'status', 'trigger', 'started', 'duration']
  );
  const sampled = detail('c', { system: { samples: 2, cpu: { avg: 1.83, peak: 2 } } as RunDetail['system'] });
  const head = compareHead([...unsampled, sampled]);
  assert.deepEqual(
    head.map(r => r.key),
    ['notebook', 'status', 'trigger', 'started', 'duration', 'system']
  );
  assert.deepEqual(head[5].values, ['', '', 'cpu 1.8 cores avg (peak 2)']);
  assert.deepEqual(head[1].values, ['succeeded', 'failed', '']);
});

test('fingerprints by stage: the data that changed between two runs is marked', () => {
  // Only the fields compareFingerprints reads; the rest of a StageRun does not matter here.
  const stages = [
    { id: 1, kind: 'data' as const, name: 'data' },
    { id: 2, kind: 'train' as const, name: 'train' }
  ] as any;
  const fp = (stage_id: number, name: string, digest: string, rows: number, role = 'output') => ({ stage_id, name, digest, rows, role, kind: 'dataframe' });
  const a = detail('a', { stages, fingerprints: [fp(2, 'X', 'sha256:aaaaaaaaaaaaaaaa', 100, 'input'), fp(1, 'df', 'sha256:1111111111111111', 1000)] as any });
  const b = detail('b', {
    stages: [{ id: 7, kind: 'data', name: 'data' }, { id: 8, kind: 'train', name: 'train' }] as any,
    fingerprints: [fp(7, 'df', 'sha256:2222222222222222', 1200), fp(8, 'X', 'sha256:aaaaaaaaaaaaaaaa', 100, 'input')] as any
  });
  const rows = compareFingerprints([a, b]);
  assert.deepEqual(rows, [
    { key: 'output df', stage: 'data', values: ['1111111111 · 1,000 rows', '2222222222 · 1,200 rows'], differs: true },
    { key: 'input X', stage: 'train', values: ['aaaaaaaaaa · 100 rows', 'aaaaaaaaaa · 100 rows'], differs: false }
  ]);
  // A fingerprint only one run has differs.
  const c = detail('c', { stages, fingerprints: [] });
  assert.equal(compareFingerprints([a, c]).every(r => r.differs), true);
});

test('only metrics logged over several steps get a chart', () => {
  const a = detail('a', { metrics_latest: { loss: { value: 0.1, step: 9, points: 10 }, acc: { value: 0.9, step: 0, points: 1 } } });
  const b = detail('b', { metrics_latest: { acc: { value: 0.8, step: 0, points: 1 } } });
  assert.deepEqual(chartedMetrics([a, b]), ['loss']);
  assert.deepEqual(chartedMetrics([b]), []);
});

test('chart ticks are round and cover the data', () => {
  assert.deepEqual(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(0.61, 0.89), [0.6, 0.7, 0.8, 0.9]);
  const flat = niceTicks(0.5, 0.5);
  assert.ok(flat[0] <= 0.5 && flat[flat.length - 1] >= 0.5 && flat.length > 1);
  assert.deepEqual(stepTicks(0, 4), [0, 1, 2, 3, 4]);
  assert.deepEqual(stepTicks(0, 1), [0, 1]);
  assert.ok(stepTicks(0, 1000).every(Number.isInteger));
  assert.deepEqual(niceTicks(NaN, 1), []);
});
