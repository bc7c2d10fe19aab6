/**
 * The runs view's logic as pure functions: decoding the columnar answer, columns, sorting,
 * filtering, empty states, in-place patching, compare rows with differences, number formatting
 * and chart ticks. No DOM and no JupyterLab here, so `jlpm test` runs all of it in Node.
 */
import type { RunDetail, RunsTable } from '../api';
import { formatDuration as formatSeconds, formatNumber, formatSystem } from '../format';

export { formatNumber };
import { lifecycleIndex } from '../stages';

export type { RunDetail, RunsTable } from '../api';

/** One run as the view holds it; rows that did not change keep their identity across polls. */
export interface RunRow {
  id: string;
  status: string;
  notebook: string | null;
  notebookPath: string | null;
  trigger: string;
  /** who started it (MLOPS_USER, JUPYTERHUB_USER or the OS user); null for runs recorded before */
  user: string | null;
  /** seconds since the epoch */
  started: number;
  ended: number | null;
  /** The run this one came from (a sweep's point: its sweep); null for most runs. */
  parent: string | null;
  params: Record<string, unknown>;
  metrics: Record<string, number | string>;
}

export type ColumnKind = 'text' | 'number' | 'date' | 'duration' | 'value';
export type ColumnGroup = 'run' | 'param' | 'metric';

export interface Column {
  id: string;
  label: string;
  group: ColumnGroup;
  kind: ColumnKind;
  /** px */
  width: number;
}

export type SortDir = 'asc' | 'desc';
export interface SortSpec {
  column: string;
  dir: SortDir;
}

export interface Filter {
  /** empty: every status */
  status: string;
  /** recorded notebook name; empty: every notebook */
  notebook: string;
  /** who started the run; empty: everyone */
  user: string;
  text: string;
}

export interface ViewConfig {
  hidden: string[];
  sort: SortSpec;
}

export const DEFAULT_SORT: SortSpec = { column: 'started', dir: 'desc' };
export const NO_FILTER: Filter = { status: '', notebook: '', user: '', text: '' };

export const RUN_COLUMNS: Column[] = [
  { id: 'id', label: 'run', group: 'run', kind: 'text', width: 108 },
  { id: 'status', label: 'status', group: 'run', kind: 'text', width: 104 },
  { id: 'notebook', label: 'notebook', group: 'run', kind: 'text', width: 150 },
  { id: 'trigger', label: 'trigger', group: 'run', kind: 'text', width: 136 },
  { id: 'started', label: 'started', group: 'run', kind: 'date', width: 148 },
  { id: 'duration', label: 'duration', group: 'run', kind: 'duration', width: 96 },
  { id: 'user', label: 'user', group: 'run', kind: 'text', width: 96 }
];

// -- decoding ---------------------------------------------------------------------------------

/** The columnar `GET runs-table` answer as rows (an `unchanged` answer has none). */
export function decodeTable(table: RunsTable): RunRow[] {
  const cols = table.columns;
  if (!cols) {
    return [];
  }
  const notebooks = table.notebooks ?? [];
  const paths = table.notebook_paths ?? [];
  const params = Object.entries(table.params ?? {});
  const metrics = Object.entries(table.metrics ?? {});
  const rows: RunRow[] = new Array(cols.id.length);
  for (let i = 0; i < cols.id.length; i++) {
    const p: Record<string, unknown> = {};
    for (const [key, values] of params) {
      if (values[i] !== null && values[i] !== undefined) {
        p[key] = values[i];
      }
    }
    const m: Record<string, number | string> = {};
    for (const [key, values] of metrics) {
      const v = values[i];
      if (v !== null && v !== undefined) {
        m[key] = v;
      }
    }
    const nb = cols.notebook[i];
    rows[i] = {
      id: cols.id[i],
      status: cols.status[i],
      notebook: notebooks[nb] ?? null,
      notebookPath: paths[nb] ?? null,
      trigger: cols.trigger[i],
      user: cols.user?.[i] ?? null,
      started: cols.started[i],
      ended: cols.ended[i] ?? null,
      parent: cols.parent_run_id?.[i] ?? null,
      params: p,
      metrics: m
    };
  }
  return rows;
}

// -- columns ----------------------------------------------------------------------------------

/** Every column the rows offer: the run's own, then one per metric key (what people sort by,
 * so in sight first), then one per param key. */
export function columnsFor(rows: readonly RunRow[]): Column[] {
  const params = new Set<string>();
  const metrics = new Set<string>();
  for (const row of rows) {
    for (const k in row.params) {
      params.add(k);
    }
    for (const k in row.metrics) {
      metrics.add(k);
    }
  }
  const byName = (a: string, b: string) => a.localeCompare(b);
  return [
    ...RUN_COLUMNS,
    ...[...metrics].sort(byName).map(k => ({ id: `metric:${k}`, label: k, group: 'metric' as const, kind: 'number' as const, width: 100 })),
    ...[...params].sort(byName).map(k => ({ id: `param:${k}`, label: k, group: 'param' as const, kind: 'value' as const, width: 100 }))
  ];
}

/** The columns shown: every column but the hidden ones (the run id always stays). */
export function visibleColumns(all: readonly Column[], hidden: Iterable<string>): Column[] {
  const off = new Set(hidden);
  off.delete('id');
  return all.filter(c => !off.has(c.id));
}

/** A copy of `set` with `item` added, or removed when it was in (a selection, the folded sweeps). */
export function toggled<T>(set: Iterable<T>, item: T): Set<T> {
  const next = new Set(set);
  if (next.has(item)) {
    next.delete(item);
  } else {
    next.add(item);
  }
  return next;
}

/** Show or hide one column; returns the new hidden list (sorted, so the stored state is stable). */
export function toggleColumn(hidden: readonly string[], id: string): string[] {
  if (id === 'id') {
    return [...hidden];
  }
  return [...toggled(hidden, id)].sort();
}

/** A stored view config, or the default for anything malformed (state from an older version). */
export function parseConfig(raw: unknown): ViewConfig {
  const out: ViewConfig = { hidden: [], sort: { ...DEFAULT_SORT } };
  if (!raw || typeof raw !== 'object') {
    return out;
  }
  const r = raw as Record<string, unknown>;
  if (Array.isArray(r.hidden)) {
    out.hidden = r.hidden.filter((h): h is string => typeof h === 'string' && h !== 'id').sort();
  }
  const sort = r.sort as Record<string, unknown> | undefined;
  if (sort && typeof sort.column === 'string' && (sort.dir === 'asc' || sort.dir === 'desc')) {
    out.sort = { column: sort.column, dir: sort.dir };
  }
  return out;
}

/** Clicking a header: a new column sorts descending for numbers and dates, ascending for text;
 * the same column flips. */
export function nextSort(current: SortSpec, column: Column): SortSpec {
  if (current.column === column.id) {
    return { column: column.id, dir: current.dir === 'asc' ? 'desc' : 'asc' };
  }
  return { column: column.id, dir: column.kind === 'text' ? 'asc' : 'desc' };
}

// -- values, sorting, filtering ---------------------------------------------------------------

/** A run's duration in seconds; a run still going counts up to `now`. */
export function durationOf(row: RunRow, now: number): number | null {
  if (row.ended !== null) {
    return Math.max(0, row.ended - row.started);
  }
  return row.status === 'running' ? Math.max(0, now - row.started) : null;
}

/** The raw value of a cell. */
export function cellValue(row: RunRow, columnId: string, now: number): unknown {
  switch (columnId) {
    case 'id':
      return row.id;
    case 'status':
      return row.status;
    case 'notebook':
      return row.notebook;
    case 'trigger':
      return row.trigger;
    case 'user':
      return row.user;
    case 'started':
      return row.started;
    case 'duration':
      return durationOf(row, now);
  }
  if (columnId.startsWith('param:')) {
    return row.params[columnId.slice(6)];
  }
  if (columnId.startsWith('metric:')) {
    return row.metrics[columnId.slice(7)];
  }
  return undefined;
}

/** A value as a sort key: a finite number, a string, or null (missing, NaN: sorted last). */
export function sortKey(value: unknown): number | string | null {
  if (value === null || value === undefined || value === '') {
    return null;
  }
  if (typeof value === 'number') {
    return Number.isNaN(value) ? null : value;
  }
  if (typeof value === 'boolean') {
    return value ? 1 : 0;
  }
  if (typeof value === 'string') {
    // Metric values the server could not send as JSON numbers travel as their names.
    if (value === 'inf' || value === 'Infinity') {
      return Infinity;
    }
    if (value === '-inf' || value === '-Infinity') {
      return -Infinity;
    }
    if (value === 'nan' || value === 'NaN') {
      return null;
    }
    return value;
  }
  return JSON.stringify(value);
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/**
 * The order of `rows` (indices) sorted by one column: numbers numerically, then text, missing
 * values last whichever the direction; ties keep the rows' own order (newest first).
 */
export function sortIndex(rows: readonly RunRow[], indices: readonly number[], sort: SortSpec, now: number): number[] {
  const n = indices.length;
  const nums = new Float64Array(n);
  const strs: (string | null)[] = new Array(n);
  const rank = new Uint8Array(n); // 0 number, 1 text, 2 missing
  for (let j = 0; j < n; j++) {
    const key = sortKey(cellValue(rows[indices[j]], sort.column, now));
    if (typeof key === 'number') {
      nums[j] = key;
    } else if (typeof key === 'string') {
      rank[j] = 1;
      strs[j] = key;
    } else {
      rank[j] = 2;
    }
  }
  const sign = sort.dir === 'asc' ? 1 : -1;
  const order = Array.from({ length: n }, (_, j) => j);
  order.sort((a, b) => {
    if (rank[a] !== rank[b]) {
      return rank[a] - rank[b];
    }
    let c = 0;
    if (rank[a] === 0) {
      c = nums[a] < nums[b] ? -1 : nums[a] > nums[b] ? 1 : 0;
    } else if (rank[a] === 1) {
      c = collator.compare(strs[a] as string, strs[b] as string);
    }
    return c !== 0 ? c * sign : indices[a] - indices[b];
  });
  return order.map(j => indices[j]);
}

/** What free text searches in a run: its id, notebook, trigger, status, user and `key=value` params, and
 * the id of the run it came from (so a sweep's id finds the sweep and its points). */
export function searchText(row: RunRow): string {
  const params = Object.entries(row.params).map(([k, v]) => `${k}=${formatParam(v)}`);
  return [row.id, row.notebook ?? '', row.trigger, row.status, row.user ?? '', row.parent ?? '', ...params].join(' ').toLowerCase();
}

/** Whether a filter restricts anything. */
export function isFiltered(filter: Filter): boolean {
  return !!(filter.status || filter.notebook || filter.user || filter.text.trim());
}

/** The indices of the rows the filter keeps, in their order. `text` may hold several words (all must match). */
export function filterIndex(rows: readonly RunRow[], filter: Filter, haystack: (row: RunRow) => string = searchText): number[] {
  const words = filter.text.toLowerCase().split(/\s+/).filter(Boolean);
  const out: number[] = [];
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    if (filter.status && row.status !== filter.status) {
      continue;
    }
    if (filter.notebook && row.notebook !== filter.notebook) {
      continue;
    }
    if (filter.user && row.user !== filter.user) {
      continue;
    }
    if (words.length) {
      const text = haystack(row);
      if (!words.every(w => text.includes(w))) {
        continue;
      }
    }
    out.push(i);
  }
  return out;
}

/** The empty state: nothing recorded at all, or nothing matching the filter (which it names). */
export function emptyMessage(total: number, filter: Filter): string {
  if (total === 0) {
    return 'No runs recorded yet: run a stage cell (%%mlops stage train) or `mlops run NOTEBOOK`.';
  }
  const terms: string[] = [];
  if (filter.status) {
    terms.push(`'${filter.status}'`);
  }
  if (filter.notebook) {
    terms.push(`in ${filter.notebook}`);
  }
  if (filter.user) {
    terms.push(`by ${filter.user}`);
  }
  if (filter.text.trim()) {
    terms.push(`'${filter.text.trim()}'`);
  }
  return terms.length ? `No runs match ${terms.join(' ')}` : 'No runs to show';
}

// -- live updates -----------------------------------------------------------------------------

function sameRecord(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) {
    return false;
  }
  for (const k of ka) {
    const x = a[k];
    const y = b[k];
    if (x !== y && !(typeof x === 'object' && JSON.stringify(x) === JSON.stringify(y))) {
      return false;
    }
  }
  return true;
}

export function sameRow(a: RunRow, b: RunRow): boolean {
  return (
    a.id === b.id &&
    a.status === b.status &&
    a.ended === b.ended &&
    a.started === b.started &&
    a.trigger === b.trigger &&
    a.user === b.user &&
    a.parent === b.parent &&
    a.notebook === b.notebook &&
    a.notebookPath === b.notebookPath &&
    sameRecord(a.params, b.params) &&
    sameRecord(a.metrics, b.metrics)
  );
}

export interface Patch {
  rows: RunRow[];
  added: number;
  changed: number;
  removed: number;
}

/**
 * Merge a fresh answer into the rows held: a run that did not change keeps its object (so its
 * drawn row is not touched), changed ones are replaced, new ones added, vanished ones dropped.
 */
export function patchRows(current: readonly RunRow[], incoming: readonly RunRow[]): Patch {
  const held = new Map(current.map(r => [r.id, r]));
  let added = 0;
  let changed = 0;
  const rows = incoming.map(row => {
    const old = held.get(row.id);
    if (!old) {
      added++;
      return row;
    }
    held.delete(row.id);
    if (sameRow(old, row)) {
      return old;
    }
    changed++;
    return row;
  });
  return { rows, added, changed, removed: held.size };
}

// -- formatting -------------------------------------------------------------------------------

/** A parameter as it was given: `0.1`, `true`, `adam`, `[1, 2]`. */
export function formatParam(value: unknown): string {
  if (value === null || value === undefined) {
    return '';
  }
  if (typeof value === 'string') {
    return value;
  }
  if (typeof value === 'number' || typeof value === 'boolean') {
    return String(value);
  }
  return JSON.stringify(value);
}

/** Durations as the sidebar writes them, but empty when unknown (an empty cell, not a dash, so sorting
 * puts it last visibly). */
export function formatDuration(seconds: number | null): string {
  return formatSeconds(seconds, '');
}

const pad = (n: number) => String(n).padStart(2, '0');

/** Seconds since the epoch as local `YYYY-MM-DD HH:MM`. */
export function formatStarted(seconds: number): string {
  const d = new Date(seconds * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A cell as text. */
export function formatCell(row: RunRow, column: Column, now: number): string {
  const value = cellValue(row, column.id, now);
  switch (column.kind) {
    case 'date':
      return formatStarted(value as number);
    case 'duration':
      return formatDuration(value as number | null);
    case 'number':
      return formatNumber(value);
    case 'value':
      return formatParam(value);
  }
  if (column.id === 'id') {
    return row.id.slice(0, 8);
  }
  return value === null || value === undefined ? '' : String(value);
}

// -- compare ----------------------------------------------------------------------------------

export interface CompareRow {
  key: string;
  /** The stage, for fingerprint rows */
  stage?: string;
  values: string[];
  differs: boolean;
}

/** Whether the values differ (a value missing in some runs but not in others differs). */
export function differs(values: readonly unknown[]): boolean {
  const canon = values.map(v => (v === undefined || v === null ? '\u0000missing' : typeof v === 'object' ? JSON.stringify(v) : String(v)));
  return canon.some(c => c !== canon[0]);
}

function keysOf(records: Record<string, unknown>[]): string[] {
  const keys = new Set<string>();
  for (const r of records) {
    for (const k of Object.keys(r)) {
      keys.add(k);
    }
  }
  return [...keys].sort((a, b) => a.localeCompare(b));
}

/** The compare view's head: what each run is (notebook, status, trigger, started, duration) and what it
 * cost the machine (`system`), that row only when some run sampled it: a row of blanks says nothing. */
export function compareHead(details: readonly RunDetail[]): { key: string; values: string[] }[] {
  const rows: [string, (d: RunDetail) => string][] = [
    ['notebook', d => d.notebook ?? ''],
    ['status', d => d.status ?? ''],
    ['trigger', d => d.trigger ?? ''],
    ['started', d => (d.started ? formatStarted(Date.parse(d.started) / 1000) : '')],
    ['duration', d => formatDuration(d.duration ?? null)],
    ['system', d => formatSystem(d.system)]
  ];
  return rows
    .map(([key, get]) => ({ key, values: details.map(get) }))
    .filter(row => row.key !== 'system' || row.values.some(v => v));
}

/** Params side by side, values as given, differences marked. */
export function compareParams(details: readonly RunDetail[]): CompareRow[] {
  const records = details.map(d => (d.params ?? {}) as Record<string, unknown>);
  return keysOf(records).map(key => {
    const raw = records.map(r => r[key]);
    return { key, values: raw.map(formatParam), differs: differs(raw) };
  });
}

/** Latest metric values side by side; compared on the numbers, shown formatted. */
export function compareMetrics(details: readonly RunDetail[]): CompareRow[] {
  const records = details.map(d => (d.metrics ?? {}) as Record<string, unknown>);
  return keysOf(records).map(key => {
    const raw = records.map(r => r[key]);
    return { key, values: raw.map(formatNumber), differs: differs(raw) };
  });
}

interface FingerprintLike {
  digest?: string;
  kind?: string;
  rows?: number | null;
  name?: string | null;
  role?: string | null;
  stage_id?: number | null;
}

/** A fingerprint as a short readable cell: its digest's first 10 characters and its row count. */
export function fingerprintLabel(fp: FingerprintLike): string {
  const digest = (fp.digest ?? '').replace(/^sha256:/, '').slice(0, 10);
  return fp.rows !== null && fp.rows !== undefined ? `${digest} · ${fp.rows.toLocaleString('en-US')} rows` : digest;
}

/**
 * The data fingerprints of each run by stage (`train · input X`), side by side: the first place
 * to look when only the data changed between two runs.
 */
export function compareFingerprints(details: readonly RunDetail[]): CompareRow[] {
  const perRun: Map<string, { stage: string; order: number; label: string; digest: string }>[] = details.map(d => {
    const stages = new Map<number, { name: string; kind: string }>();
    for (const s of d.stages ?? []) {
      if (s.id !== undefined) {
        stages.set(s.id, { name: s.name ?? s.kind ?? '', kind: s.kind ?? '' });
      }
    }
    const out = new Map<string, { stage: string; order: number; label: string; digest: string }>();
    for (const fp of (d.fingerprints ?? []) as FingerprintLike[]) {
      const stage = fp.stage_id !== null && fp.stage_id !== undefined ? stages.get(fp.stage_id) : undefined;
      const stageName = stage?.name ?? 'run';
      const order = stage ? lifecycleIndex(stage.kind) : -1;
      const what = [fp.role, fp.name ?? fp.kind].filter(Boolean).join(' ');
      out.set(`${stageName}\u0000${what}`, { stage: stageName, order, label: fingerprintLabel(fp), digest: fp.digest ?? '' });
    }
    return out;
  });
  const keys = new Map<string, { stage: string; order: number }>();
  for (const run of perRun) {
    for (const [k, v] of run) {
      if (!keys.has(k)) {
        keys.set(k, { stage: v.stage, order: v.order });
      }
    }
  }
  return [...keys.entries()]
    .sort(([ka, a], [kb, b]) => a.order - b.order || ka.localeCompare(kb))
    .map(([k, { stage }]) => {
      const cells = perRun.map(run => run.get(k));
      return {
        key: k.split('\u0000')[1],
        stage,
        values: cells.map(c => c?.label ?? ''),
        differs: differs(cells.map(c => c?.digest))
      };
    });
}

/** The metrics worth a chart: logged at more than one step in at least one run. The others
 * are single values and read better as numbers. */
export function chartedMetrics(details: readonly RunDetail[]): string[] {
  const keys = new Set<string>();
  for (const d of details) {
    for (const [k, v] of Object.entries(d.metrics_latest ?? {})) {
      if ((v?.points ?? 0) > 1) {
        keys.add(k);
      }
    }
  }
  return [...keys].sort((a, b) => a.localeCompare(b));
}

// -- charts -----------------------------------------------------------------------------------

/** Round tick values covering [lo, hi]: steps of 1, 2 or 5 times a power of ten. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    return [];
  }
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  if (lo > hi) {
    [lo, hi] = [hi, lo];
  }
  const raw = (hi - lo) / Math.max(1, count);
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map(m => m * power).find(s => s >= raw) ?? 10 * power;
  const first = Math.floor(lo / step) * step;
  const ticks: number[] = [];
  for (let t = first; t <= hi + step * 0.5 && ticks.length < 50; t += step) {
    ticks.push(Number(t.toPrecision(12)));
  }
  if (ticks[ticks.length - 1] < hi) {
    ticks.push(Number((ticks[ticks.length - 1] + step).toPrecision(12)));
  }
  return ticks;
}

/** Integer step ticks (steps are whole numbers: no `0.5` step). */
export function stepTicks(lo: number, hi: number, count = 6): number[] {
  return niceTicks(lo, Math.max(hi, lo + 1), count).filter(t => Number.isInteger(t));
}
