/**
 * Sweeps in the runs view, as pure functions: `mlops sweep` records one parent run (trigger `sweep`)
 * and one child run per point (trigger `sweep`, `parent` = the sweep). The grid lists each sweep's
 * points right under it, indented, in the view's sort (sort by the objective and the best point
 * comes first in its group), and a sweep can be folded to its one row.
 *
 * Only sweeps group: other runs with a parent (a reproduction, a run fired `after` another) stay
 * where their own sort puts them, as `mlops runs` lists them.
 */
import type { ChartSeries } from './chart';
import type { RunDetail, RunRow } from './model';

/** One line of the grid: the row shown, its depth (0, or 1 for a point under its sweep) and, for a
 * sweep, how many of its points the filter keeps. */
export interface DisplayRow {
  index: number;
  depth: 0 | 1;
  points: number;
}

/** A run that is a sweep's point (its sweep may be out of view). */
export function isPoint(row: RunRow): boolean {
  return row.trigger === 'sweep' && row.parent !== null;
}

/** A run that is a sweep itself. */
export function isSweep(row: RunRow): boolean {
  return row.trigger === 'sweep' && row.parent === null;
}

/**
 * The points of each sweep in view: sweep index -> its points' indices, in the order of `order`
 * (the filtered, sorted view). A point whose sweep the filter dropped (or that is not loaded) has
 * no group and is listed on its own.
 */
export function sweepGroups(rows: readonly RunRow[], order: readonly number[]): Map<number, number[]> {
  const sweeps = new Map<string, number>();
  for (const i of order) {
    if (isSweep(rows[i])) {
      sweeps.set(rows[i].id, i);
    }
  }
  const groups = new Map<number, number[]>();
  if (!sweeps.size) {
    return groups;
  }
  for (const i of order) {
    const row = rows[i];
    const sweep = isPoint(row) ? sweeps.get(row.parent as string) : undefined;
    if (sweep !== undefined) {
      const points = groups.get(sweep);
      if (points) {
        points.push(i);
      } else {
        groups.set(sweep, [i]);
      }
    }
  }
  return groups;
}

/**
 * The grid's lines: `order` with each sweep's points moved right after their sweep (depth 1), those
 * of a folded sweep (ids in `folded`) left out. Every other run keeps its place.
 */
export function groupSweeps(rows: readonly RunRow[], order: readonly number[], folded: ReadonlySet<string>): DisplayRow[] {
  const groups = sweepGroups(rows, order);
  if (!groups.size) {
    return order.map(index => ({ index, depth: 0, points: 0 }));
  }
  const grouped = new Set<number>();
  for (const points of groups.values()) {
    for (const i of points) {
      grouped.add(i);
    }
  }
  const out: DisplayRow[] = [];
  for (const i of order) {
    if (grouped.has(i)) {
      continue;
    }
    const points = groups.get(i) ?? [];
    out.push({ index: i, depth: 0, points: points.length });
    if (!folded.has(rows[i].id)) {
      for (const p of points) {
        out.push({ index: p, depth: 1, points: 0 });
      }
    }
  }
  return out;
}

/** The ids of a sweep's points in view, in the view's order: what *Compare points* compares. */
export function pointsOf(rows: readonly RunRow[], order: readonly number[], sweepId: string): string[] {
  return order.filter(i => isPoint(rows[i]) && rows[i].parent === sweepId).map(i => rows[i].id);
}

/** At most this many objective charts in a comparison (objectives x parameters). */
export const MAX_OBJECTIVE_CHARTS = 12;

/** The sweep's objective: the metrics the sweep run logged itself (`--select` logs the best point's
 * value under the objective's name); none when the sweep selected nothing. */
export function objectivesOf(sweep: RunRow | undefined): string[] {
  return sweep ? Object.keys(sweep.metrics).sort((a, b) => a.localeCompare(b)) : [];
}

export interface ObjectiveChart {
  metric: string;
  param: string;
  /** one series per run, of one point: x the parameter's value, y the objective's */
  series: ChartSeries[];
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * The objective against each parameter, for points compared side by side: one chart per objective and
 * per parameter that is a number in every point and varies (a fixed or a text parameter has no axis).
 * Without an objective, every single-valued metric that varies stands in for it.
 */
export function objectiveCharts(details: readonly RunDetail[], objectives: readonly string[]): ObjectiveChart[] {
  const varies = (values: number[]) => values.some(v => v !== values[0]);
  const metricOf = (d: RunDetail, key: string) => (d.metrics ?? {})[key];
  const keys = new Set<string>();
  for (const d of details) {
    for (const k of Object.keys(d.params ?? {})) {
      keys.add(k);
    }
  }
  const params = [...keys].sort((a, b) => a.localeCompare(b)).filter(k => {
    const values = details.map(d => (d.params ?? {})[k]);
    return values.every(finite) && varies(values as number[]);
  });
  let metrics = [...objectives];
  if (!metrics.length) {
    const all = new Set(details.flatMap(d => Object.keys(d.metrics ?? {})));
    metrics = [...all].sort((a, b) => a.localeCompare(b)).filter(k => {
      const single = details.every(d => (d.metrics_latest?.[k]?.points ?? 1) <= 1);
      const values = details.map(d => metricOf(d, k)).filter(finite);
      return single && values.length > 1 && varies(values);
    });
  }
  const out: ObjectiveChart[] = [];
  for (const metric of metrics) {
    for (const param of params) {
      const series = details
        .filter(d => finite(metricOf(d, metric)))
        .map(d => ({ label: (d.id ?? '').slice(0, 8), points: [{ step: d.params[param] as number, value: metricOf(d, metric) as number }] }));
      if (series.length) {
        out.push({ metric, param, series });
      }
    }
  }
  return out.slice(0, MAX_OBJECTIVE_CHARTS);
}
