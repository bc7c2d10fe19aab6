import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { filterIndex, NO_FILTER, patchRows, RunDetail, RunRow, sortIndex } from '../runs-view/model';
import {
  groupSweeps,
  isPoint,
  isSweep,
  MAX_OBJECTIVE_CHARTS,
  objectiveCharts,
  objectivesOf,
  pointsOf,
  sweepGroups
} from '../runs-view/sweeps';

import { row, T0 } from './run-rows';

/** Newest first, as the server sends them: a manual run, a 3-point sweep S (its points started after it),
 * a reproduction of the manual run (a parent, but no sweep), an older 2-point sweep R, and an old run. */
const rows: RunRow[] = [
  row('late', { started: T0 + 100 }),
  row('p3', { trigger: 'sweep', parent: 'S', started: T0 + 53, params: { lr: 0.3 }, metrics: { auc: 0.81 } }),
  row('p2', { trigger: 'sweep', parent: 'S', started: T0 + 52, params: { lr: 0.2 }, metrics: { auc: 0.9 } }),
  row('p1', { trigger: 'sweep', parent: 'S', started: T0 + 51, params: { lr: 0.1 }, metrics: { auc: 0.85 }, status: 'failed' }),
  row('S', { trigger: 'sweep', started: T0 + 50, metrics: { auc: 0.9 } }),
  row('repro', { trigger: 'reproduce', parent: 'old', started: T0 + 40 }),
  row('q2', { trigger: 'sweep', parent: 'R', started: T0 + 32, metrics: { auc: 0.7 } }),
  row('q1', { trigger: 'sweep', parent: 'R', started: T0 + 31, metrics: { auc: 0.6 } }),
  row('R', { trigger: 'sweep', started: T0 + 30 }),
  row('old', { started: T0 })
];
const all = rows.map((_, i) => i);
const NEWEST = { column: 'started', dir: 'desc' } as const;
const ids = (lines: { index: number; depth: number }[]) => lines.map(l => `${'  '.repeat(l.depth)}${rows[l.index].id}`);

test('a sweep is a parent run with trigger sweep; a point names it; a reproduction is neither', () => {
  assert.deepEqual(rows.filter(isSweep).map(r => r.id), ['S', 'R']);
  assert.deepEqual(rows.filter(isPoint).map(r => r.id), ['p3', 'p2', 'p1', 'q2', 'q1']);
});

test("each sweep's points follow it, indented, in the view's order; other runs keep their place", () => {
  const lines = groupSweeps(rows, sortIndex(rows, all, NEWEST, T0), new Set());
  assert.deepEqual(ids(lines), ['late', 'S', '  p3', '  p2', '  p1', 'repro', 'R', '  q2', '  q1', 'old']);
  assert.deepEqual(
    lines.filter(l => l.points).map(l => [rows[l.index].id, l.points]),
    [
      ['S', 3],
      ['R', 2]
    ]
  );
  // The reproduction has a parent but is no sweep's point: it is not moved under `old`.
  assert.equal(lines.find(l => rows[l.index].id === 'repro')?.depth, 0);
});

test('sorting by the objective sorts the groups by the sweep and the points within each group', () => {
  const byAuc = sortIndex(rows, all, { column: 'metric:auc', dir: 'desc' }, T0);
  assert.deepEqual(ids(groupSweeps(rows, byAuc, new Set())), ['S', '  p2', '  p1', '  p3', 'late', 'repro', 'R', '  q2', '  q1', 'old']);
  // (R logged no objective of its own: it sorts with the runs without one, its points still under it.)
  const oldest = sortIndex(rows, all, { column: 'started', dir: 'asc' }, T0);
  assert.deepEqual(ids(groupSweeps(rows, oldest, new Set())), ['old', 'R', '  q1', '  q2', 'repro', 'S', '  p1', '  p2', '  p3', 'late']);
});

test('a folded sweep is one row that still counts its points', () => {
  const order = sortIndex(rows, all, NEWEST, T0);
  const lines = groupSweeps(rows, order, new Set(['S']));
  assert.deepEqual(ids(lines), ['late', 'S', 'repro', 'R', '  q2', '  q1', 'old']);
  assert.equal(lines[1].points, 3);
  assert.deepEqual(ids(groupSweeps(rows, order, new Set(['S', 'R']))), ['late', 'S', 'repro', 'R', 'old']);
});

test('a filter that drops the sweep lists its points on their own; one that drops points shrinks the group', () => {
  const failed = filterIndex(rows, { ...NO_FILTER, status: 'failed' });
  assert.deepEqual(ids(groupSweeps(rows, failed, new Set())), ['p1']);
  const high = all.filter(i => ['S', 'p2', 'p1'].includes(rows[i].id)); // as `auc > 0.81` would keep
  const lines = groupSweeps(rows, high, new Set());
  assert.deepEqual(ids(lines), ['S', '  p2', '  p1']);
  assert.equal(lines[0].points, 2);
  // A sweep whose points are all filtered away is a plain row: nothing to fold.
  const sweepsOnly = filterIndex(rows, NO_FILTER).filter(i => isSweep(rows[i]));
  assert.deepEqual(groupSweeps(rows, sweepsOnly, new Set()).map(l => l.points), [0, 0]);
  assert.equal(sweepGroups(rows, sweepsOnly).size, 0);
});

test("the sweep's id in the search box finds the sweep and its points", () => {
  const named = rows.map(r => ({ ...r, id: r.id === 'S' ? 'f00dcafe0001' : r.id, parent: r.parent === 'S' ? 'f00dcafe0001' : r.parent }));
  const found = filterIndex(named, { ...NO_FILTER, text: 'F00DCAFE' });
  assert.deepEqual(found.map(i => named[i].id), ['p3', 'p2', 'p1', 'f00dcafe0001']);
  assert.deepEqual(ids(groupSweeps(named, sortIndex(named, found, NEWEST, T0), new Set())), ['S', '  p3', '  p2', '  p1']);
});

test("compare points: the sweep's points in view, in the view's order", () => {
  const byAuc = sortIndex(rows, all, { column: 'metric:auc', dir: 'desc' }, T0);
  assert.deepEqual(pointsOf(rows, byAuc, 'S'), ['p2', 'p1', 'p3']);
  assert.deepEqual(pointsOf(rows, all, 'R'), ['q2', 'q1']);
  assert.deepEqual(pointsOf(rows, all, 'late'), []);
  assert.deepEqual(pointsOf(rows, all, 'old'), []); // the reproduction is not a point of `old`
});

test('a run moved into a sweep is a changed row (the grid redraws it indented)', () => {
  const before = [row('x', { trigger: 'sweep' })];
  const patch = patchRows(before, [row('x', { trigger: 'sweep', parent: 'S' })]);
  assert.equal(patch.changed, 1);
  assert.equal(patchRows(before, [row('x', { trigger: 'sweep' })]).rows[0], before[0]);
});

function detail(id: string, params: Record<string, unknown>, metrics: Record<string, number | string>, steps = 1): RunDetail {
  const latest = Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, { value: v, step: 0, points: steps }]));
  return { id, params, metrics, metrics_latest: latest } as unknown as RunDetail;
}

test("the objective is what the sweep logged itself: charted against each numeric parameter that varies", () => {
  assert.deepEqual(objectivesOf(rows[4]), ['auc']);
  assert.deepEqual(objectivesOf(rows[8]), []);
  assert.deepEqual(objectivesOf(undefined), []);
  const points = [
    detail('aaaaaaaa11', { lr: 0.1, depth: 3, opt: 'adam', seed: 7 }, { auc: 0.8, loss: 0.5 }),
    detail('bbbbbbbb22', { lr: 0.2, depth: 3, opt: 'sgd', seed: 7 }, { auc: 0.9, loss: 0.4 }),
    detail('cccccccc33', { lr: 0.3, depth: 5, opt: 'adam', seed: 7 }, { auc: 'nan', loss: 0.3 })
  ];
  const charts = objectiveCharts(points, ['auc']);
  // depth and lr vary and are numbers; opt is text and seed is fixed: no axis for either.
  assert.deepEqual(charts.map(c => `${c.metric}~${c.param}`), ['auc~depth', 'auc~lr']);
  // One dot per point with a finite objective (the NaN point is left out), x the parameter's value.
  assert.deepEqual(charts[1].series, [
    { label: 'aaaaaaaa', points: [{ step: 0.1, value: 0.8 }] },
    { label: 'bbbbbbbb', points: [{ step: 0.2, value: 0.9 }] }
  ]);
  // Without an objective, each single-valued metric that varies stands in; one logged over steps does not.
  assert.deepEqual(objectiveCharts(points, []).map(c => `${c.metric}~${c.param}`), ['auc~depth', 'auc~lr', 'loss~depth', 'loss~lr']);
  const curves = points.map(p => detail(p.id as string, p.params as Record<string, unknown>, { loss: 1 }, 5));
  assert.deepEqual(objectiveCharts(curves, []), []);
  const wide = [0, 1].map(i => detail(`r${i}`, Object.fromEntries([...'abcdefghijklmn'].map(k => [k, i])), { auc: i }));
  assert.equal(objectiveCharts(wide, ['auc']).length, MAX_OBJECTIVE_CHARTS);
});
