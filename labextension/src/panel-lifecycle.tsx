/**
 * The Lifecycle section: one row per stage kind (a row per stage cell, or "no cell"), each with
 * its latest attempt. Rows keep their columns whatever the status, and a stage's warnings are one
 * compact mark (full text in the tooltip), so a headless run neither jumps the layout nor floods it.
 */
import * as React from 'react';

import type { LifecycleView } from './api';
import { formatAgo, formatDuration, statusClass } from './format';
import { compactWarnings, sortStages } from './panel-logic';
import type { Section } from './panel-model';
import { PanelSection } from './panel-parts';

export function LifecycleSection(props: { section: Section<LifecycleView>; kinds: readonly string[] }): JSX.Element {
  const { data: view, error } = props.section;
  return (
    <PanelSection className="mlops-lifecycle" title="Lifecycle" error={error}>
      {view ? <StageList view={view} kinds={props.kinds} /> : error ? null : <p className="mlops-empty">Loading…</p>}
      {view && view.invalid_cells?.length ? (
        <ul className="mlops-invalid-cells" aria-label="Stage cells with errors">
          {view.invalid_cells.map(c => (
            <li key={`${c.cell_id ?? ''}:${c.cell_index}`} className="mlops-invalid-cell" data-cell-index={c.cell_index}>
              <span className="mlops-kind">cell {c.cell_index + 1}</span> {c.error}
            </li>
          ))}
        </ul>
      ) : null}
      {(view?.warnings ?? []).map(w => (
        <p key={w} className="mlops-warning mlops-lifecycle-warning">
          {w}
        </p>
      ))}
    </PanelSection>
  );
}

function StageList(props: { view: LifecycleView; kinds: readonly string[] }): JSX.Element {
  const stages = sortStages(props.view.stages, props.kinds);
  const rows: JSX.Element[] = [];
  for (const kind of props.kinds) {
    const ofKind = stages.filter(s => s.kind === kind);
    if (ofKind.length === 0) {
      rows.push(
        <li key={`missing:${kind}`} className="mlops-stage mlops-stage-missing" data-kind={kind}>
          <span className="mlops-kind">{kind}</span>
          <span className="mlops-stage-name" />
          <span className="mlops-status mlops-stage-note">no cell</span>
          <span className="mlops-duration" />
          <span className="mlops-stage-warn" />
        </li>
      );
      continue;
    }
    for (const stage of ofKind) {
      const ran = stage.status !== 'not run';
      const warn = compactWarnings(stage.warnings ?? []);
      const title =
        stage.error ?? (ran ? `attempt ${stage.attempt} of ${stage.attempts}, ${formatAgo(stage.started)}` : 'not run yet');
      rows.push(
        <li
          key={`${stage.name}:${stage.cell_index}`}
          className={`mlops-stage ${statusClass(ran ? stage.status : null)}${warn ? ' mlops-stage-warned' : ''}`}
          data-kind={kind}
          data-status={ran ? stage.status : 'never'}
          title={warn ? `${title}\n${warn.full}` : title}
        >
          <span className="mlops-kind">{kind}</span>
          <span className="mlops-stage-name">{stage.name === kind ? '' : stage.name}</span>
          <span className="mlops-status">{stage.status}</span>
          <span className="mlops-duration">{ran ? formatDuration(stage.duration) : ''}</span>
          <span className="mlops-stage-warn" role={warn ? 'img' : undefined} aria-label={warn ? `warning: ${warn.short}` : undefined}>
            {warn ? '⚠' : ''}
          </span>
        </li>
      );
    }
  }
  return <ol className="mlops-stages">{rows}</ol>;
}
