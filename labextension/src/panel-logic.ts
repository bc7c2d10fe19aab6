/**
 * The sidebar's decisions, apart from React and JupyterLab so node's test runner can load them:
 * what an empty list says, how warnings are compacted, where a renamed path goes, how a champion
 * and a challenger compare, and whether two answers are the same (a poll that changes nothing
 * must write nothing).
 */
import { JSONExt, ReadonlyPartialJSONValue } from '@lumino/coreutils';

import type { AliasChange, LifecycleStage, ModelDetail, ModelVersion, PromotionResult } from './api';
import { formatNumber } from './format';
import { lifecycleIndex } from './stages';

/** Deep equality of two JSON answers (or states made of them): Lumino's JSONExt.deepEqual. */
export function sameJson(a: unknown, b: unknown): boolean {
  return JSONExt.deepEqual(a as ReadonlyPartialJSONValue, b as ReadonlyPartialJSONValue);
}

/** What the runs list says when it is empty: a filter with no match is not "no runs yet". */
export function emptyRunsText(status: string, trigger = ''): string {
  if (!status && !trigger) {
    return 'No runs yet: run a stage cell, or run headlessly.';
  }
  const what = [status, trigger ? `${trigger}-triggered` : ''].filter(Boolean).join(' ');
  return `No ${what} runs.`;
}

/** Statuses of a run that has not ended (polled faster). */
export function isActive(status: string | null | undefined): boolean {
  return status === 'queued' || status === 'running';
}

/**
 * A stage's warnings as one compact line: the stale warnings (one per upstream stage that ran
 * again, several during a headless run) collapse into one "stale" note; the others follow.
 */
export function compactWarnings(warnings: readonly string[]): { short: string; full: string } | null {
  if (!warnings.length) {
    return null;
  }
  const unique = Array.from(new Set(warnings));
  const stale = unique.filter(w => w.startsWith('stale'));
  const other = unique.filter(w => !w.startsWith('stale'));
  const parts: string[] = [];
  if (stale.length) {
    const upstream = stale.map(w => /^stale: (\S+) ran again/.exec(w)?.[1]).filter((n): n is string => !!n);
    const code = stale.some(w => w.includes('code changed'));
    const why = [upstream.length ? `${Array.from(new Set(upstream)).join(', ')} ran again` : '', code ? 'code changed' : '']
      .filter(Boolean)
      .join('; ');
    parts.push(why ? `stale (${why})` : 'stale');
  }
  parts.push(...other);
  return { short: parts.join(' · '), full: unique.join('\n') };
}

/** The stage rows in lifecycle order (kind, then cell order). */
export function sortStages(stages: readonly LifecycleStage[], kinds?: readonly string[]): LifecycleStage[] {
  const index = (kind: string) => lifecycleIndex(kind, kinds);
  return [...stages].sort((a, b) => index(a.kind) - index(b.kind) || a.cell_index - b.cell_index);
}

/**
 * Where `path` is after `from` was renamed to `to` (a notebook, or a folder holding it), or null
 * when the rename does not touch it.
 */
export function renamedPath(path: string, from: string, to: string): string | null {
  if (path === from) {
    return to;
  }
  const prefix = from.endsWith('/') ? from : `${from}/`;
  if (from && path.startsWith(prefix)) {
    return `${to.replace(/\/$/, '')}/${path.slice(prefix.length)}`;
  }
  return null;
}

/** The version an alias points at, or null. */
export function aliasVersion(detail: ModelDetail, alias: string): ModelVersion | null {
  return detail.versions.find(v => v.aliases.includes(alias)) ?? null;
}

/**
 * The version a rollback of `alias` moves back to, replaying its history as the registry does
 * (registry.aliases.rollback: a stack of moves, a rollback pops one), or null when there is none.
 */
export function rollbackTarget(history: readonly AliasChange[], alias: string): number | null {
  const moves = history
    .filter(c => c.alias === alias && c.moved)
    .sort((a, b) => Date.parse(a.created) - Date.parse(b.created));
  const stack: number[] = [];
  for (const c of moves) {
    if (c.action === 'rollback') {
      stack.pop();
    } else if (c.to_version !== null) {
      stack.push(c.to_version);
    }
  }
  return stack.length >= 2 ? stack[stack.length - 2] : null;
}

export interface MetricRow {
  metric: string;
  champion: string;
  challenger: string;
  /** Both have the metric and the values differ (or only one has it). */
  differs: boolean;
  /** challenger minus champion, when both are finite numbers. */
  delta: number | null;
}

/** Champion and challenger metrics side by side, every metric either has, in name order. */
export function compareMetrics(champion: ModelVersion | null, challenger: ModelVersion): MetricRow[] {
  const a = champion?.metrics ?? {};
  const b = challenger.metrics ?? {};
  const names = Array.from(new Set([...Object.keys(a), ...Object.keys(b)])).sort();
  return names.map(metric => {
    const va = a[metric];
    const vb = b[metric];
    const num = (v: unknown) => (typeof v === 'number' && isFinite(v) ? v : null);
    const na = num(va);
    const nb = num(vb);
    return {
      metric,
      champion: va === undefined ? '—' : formatNumber(va),
      challenger: vb === undefined ? '—' : formatNumber(vb),
      differs: champion !== null && String(va) !== String(vb),
      delta: na !== null && nb !== null && na !== nb ? nb - na : null
    };
  });
}

/** The gate outcome of a version in a few words. */
export function gateText(version: ModelVersion): string {
  if (version.gates_passed === null || !version.gates.length) {
    return 'no quality gate';
  }
  if (version.gates_passed) {
    return `gate passed: ${version.gates.map(g => g.expression).join('; ')}`;
  }
  const failed = version.gates
    .flatMap(g => g.clauses)
    .filter(c => !c.passed)
    .map(c => `${c.clause} (got ${formatNumber(c.value)})`);
  return `gate failed: ${failed.join('; ') || version.gates.map(g => g.expression).join('; ')}`;
}

/** The line shown next to the model after a promote or a rollback. */
export function promotionMessage(result: PromotionResult): { text: string; error: boolean } {
  const c = result.change;
  if (result.promoted) {
    const how = c.action === 'rollback' ? 'rolled back' : 'promoted';
    return { text: `${c.alias}: v${c.from_version ?? '–'} → v${c.to_version} (${how})`, error: false };
  }
  return { text: `${c.alias} stays at v${c.from_version ?? '–'}: ${c.reason ?? c.action}`, error: c.action === 'refused' };
}

/** The first few metrics of a run as `name value` pairs (the sidebar shows three; the tooltip all). */
export function metricPairs(metrics: Record<string, unknown> | undefined, n = 3): { shown: [string, string][]; all: string } {
  const entries = Object.entries(metrics ?? {}).map(([k, v]) => [k, formatNumber(v)] as [string, string]);
  return { shown: entries.slice(0, n), all: entries.map(([k, v]) => `${k} ${v}`).join('\n') };
}
