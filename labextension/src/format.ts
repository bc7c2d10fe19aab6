/** Pure display helpers: durations, times, statuses, sparklines. */

import type { Info, ModelHealth, SystemSummary } from './api';
import { enums } from './enums';

/** Seconds as people read them: `250 ms`, `3.2 s`, `2 min 5 s`, `2 h 1 min`; `empty` when unknown. */
export function formatDuration(seconds: number | null | undefined, empty = '—'): string {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) {
    return empty;
  }
  if (seconds < 1) {
    return `${Math.round(seconds * 1000)} ms`;
  }
  if (seconds < 60) {
    return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  }
  const m = Math.floor(seconds / 60);
  if (m < 60) {
    return `${m} min ${Math.round(seconds - m * 60)} s`;
  }
  const h = Math.floor(m / 60);
  return `${h} h ${m - h * 60} min`;
}

/** An ISO time in ms since the epoch, or what to show instead: '—' for none, the text itself when it is no time. */
function parseTime(iso: string | null | undefined): number | string {
  if (!iso) {
    return '—';
  }
  const t = Date.parse(iso);
  return isNaN(t) ? iso : t;
}

/** Seconds under a day as `30 s`, `5 min`, `3 h`; null from a day on. */
function withinDay(s: number): string | null {
  if (s < 60) {
    return `${Math.round(s)} s`;
  }
  if (s < 3600) {
    return `${Math.round(s / 60)} min`;
  }
  return s < 86400 ? `${Math.round(s / 3600)} h` : null;
}

/** "3 min ago" style, relative to `now` (ms since epoch); the date beyond a day. */
export function formatAgo(iso: string | null | undefined, now: number = Date.now()): string {
  const t = parseTime(iso);
  if (typeof t === 'string') {
    return t;
  }
  const near = withinDay(Math.max(0, (now - t) / 1000));
  return near ? `${near} ago` : new Date(t).toISOString().slice(0, 10);
}

/** A word fit for a class name (the enums come from the server: checked, never trusted). */
const CLASS_WORD = /^[a-z][a-z-]*$/;

/** A CSS class for a run or stage status the server names (`enums()`), `never` for none or any other word. */
export function statusClass(status: string | null | undefined): string {
  const { run_status, stage_status } = enums();
  const known = !!status && CLASS_WORD.test(status) && (run_status.includes(status) || stage_status.includes(status));
  return `mlops-status-${known ? status : 'never'}`;
}

function trimZeros(text: string): string {
  // "0.8120" -> "0.812", "2.710e-93" -> "2.71e-93", "1.000" -> "1"
  return text.replace(/(\.\d*?)0+(?=$|e)/, '$1').replace(/\.(?=$|e)/, '');
}

/** A metric value as people read it: 4 significant digits, integers (below 1e9) whole, tiny and huge values
 * in exponent form (never wrapped: the cell is `white-space: nowrap`). */
export function formatNumber(value: unknown): string {
  if (value === null || value === undefined || value === '') {
    return '';
  }
  if (typeof value === 'string') {
    return value;
  }
  if (typeof value !== 'number') {
    return formatParam(value);
  }
  if (!Number.isFinite(value)) {
    return Number.isNaN(value) ? 'nan' : value > 0 ? 'inf' : '-inf';
  }
  const abs = Math.abs(value);
  if (Number.isInteger(value) && abs < 1e9) {
    return String(value);
  }
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) {
    return trimZeros(value.toExponential(3)).replace('e+', 'e');
  }
  return trimZeros(value.toPrecision(4));
}

/** A parameter as it was given (`0.1`, not `0.1000`): JSON for everything but a plain string. */
export function formatParam(value: unknown): string {
  if (typeof value === 'string') {
    return value;
  }
  if (typeof value === 'number') {
    return String(value);
  }
  return JSON.stringify(value);
}

/** Bytes in binary units, one decimal: `512 B`, `139.7 KiB`, `2.0 MiB`. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !isFinite(bytes)) {
    return '—';
  }
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = Math.abs(bytes);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${bytes} B` : `${(Math.sign(bytes) * v).toFixed(1)} ${units[i]}`;
}

/**
 * An SVG polyline `points` attribute for (step, value) pairs scaled into width x height.
 * Non-finite values are skipped; a flat series draws a line across the middle.
 */
export function sparklinePoints(
  points: ReadonlyArray<{ step: number; value: number }>,
  width: number,
  height: number
): string {
  const finite = points.filter(p => isFinite(p.value) && isFinite(p.step));
  if (finite.length === 0) {
    return '';
  }
  const xs = finite.map(p => p.step);
  const ys = finite.map(p => p.value);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const sx = (x: number) => (x1 === x0 ? width / 2 : ((x - x0) / (x1 - x0)) * width);
  const sy = (y: number) => (y1 === y0 ? height / 2 : height - ((y - y0) / (y1 - y0)) * height);
  return finite.map(p => `${sx(p.step).toFixed(1)},${sy(p.value).toFixed(1)}`).join(' ');
}

/** A future time as "in 5 min" / "in 3 h", then "YYYY-MM-DD HH:MM" (UTC) beyond a day; '—' when none. */
export function formatDue(iso: string | null | undefined, now: number = Date.now()): string {
  const t = parseTime(iso);
  if (typeof t === 'string') {
    return t;
  }
  const s = (t - now) / 1000;
  if (s < 0) {
    return 'due now';
  }
  const near = withinDay(s);
  return near ? `in ${near}` : `${new Date(t).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** One line each for the newest drift and performance checks: inputs and outcome are two questions. */
export function healthLines(health: ModelHealth | undefined): { text: string; warn: boolean; kind: string }[] {
  const out: { text: string; warn: boolean; kind: string }[] = [];
  const perf = health?.performance;
  if (perf) {
    const value = perf.value === null ? 'no value' : perf.value.toFixed(3);
    const how = perf.source ? ` (${perf.source})` : '';
    const version = perf.version === null ? '' : `v${perf.version} `;
    // A check of a version production has since left (the drop that led to the retrain) is history.
    const history = perf.current === false;
    out.push({
      kind: 'performance',
      warn: perf.verdict === 'drop' && !history,
      text: `${version}${perf.metric} ${value}${how}: ${perf.verdict}${history ? ' (before the current production)' : ''}`
    });
  }
  const drift = health?.drift;
  if (drift) {
    const columns = drift.drifted_columns.length ? `: ${drift.drifted_columns.slice(0, 3).join(', ')}${drift.drifted_columns.length > 3 ? ', …' : ''}` : '';
    out.push({ kind: 'drift', warn: drift.drifted, text: drift.drifted ? `drift${columns}` : 'no drift' });
  }
  return out;
}

/** Which store a view reads, as a person reads it: a SQLite store inside the Lab root as its folder
 * (`mlops-demo/.mlops`), anything else (PostgreSQL) as its URL with the password hidden; null when none. */
export function storeLabel(info: Pick<Info, 'store' | 'project'>): string | null {
  if (!info.store) {
    return null;
  }
  const local = info.project !== null && info.store.startsWith('sqlite:');
  return local ? `${info.project ? `${info.project}/` : ''}.mlops` : info.store;
}

/** What a run or stage cost the machine, as `mlops show` writes it (display/runs.py `fmt_system`):
 * `cpu 1.8 cores avg (peak 2), rss peak 3.1 GiB, gpu 0 util 87% mem 11 GiB`; '' when nothing was sampled. */
export function formatSystem(summary: SystemSummary | null | undefined): string {
  if (!summary) {
    return '';
  }
  const parts: string[] = [];
  if (summary.cpu && summary.cpu.avg !== undefined) {
    parts.push(`cpu ${formatNumber(Number(summary.cpu.avg.toPrecision(2)))} cores avg (peak ${formatNumber(Number((summary.cpu.peak ?? 0).toPrecision(2)))})`);
  }
  if (summary.rss && summary.rss.peak !== undefined) {
    parts.push(`rss peak ${formatBytes(summary.rss.peak)}`);
  }
  for (const [index, gpu] of Object.entries(summary.gpu ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    const bits = [gpu.util_peak !== undefined ? `util ${Math.round(gpu.util_peak)}%` : '', gpu.mem_peak !== undefined ? `mem ${formatBytes(gpu.mem_peak)}` : ''];
    parts.push(`gpu ${index} ${bits.filter(b => b).join(' ')}`);
  }
  return parts.join(', ');
}

/** Metric series a run samples about itself (`system.*`): shown as the system line, not as results. */
export function isResultMetric(key: string): boolean {
  return !key.startsWith('system.');
}
