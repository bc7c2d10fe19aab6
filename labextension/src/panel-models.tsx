/**
 * The Models section (each model's latest version, aliases and health, with promote and roll back,
 * and the outcome of the last one next to the model) and the confirmation shown before either:
 * champion and challenger metrics side by side, differences marked, the challenger's gate.
 */
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import type { ModelSummary, ModelVersion } from './api';
import { formatNumber, healthLines } from './format';
import { compareMetrics, gateText } from './panel-logic';
import type { Note, Section } from './panel-model';
import { NoteLine, PanelSection, SectionList } from './panel-parts';

export interface ModelActions {
  promote(model: string, version: number): void;
  rollback(model: string): void;
}

export function ModelsSection(props: {
  section: Section<ModelSummary[]>;
  messages: Record<string, Note>;
  on: ModelActions;
}): JSX.Element {
  return (
    <PanelSection className="mlops-models" title="Models" error={props.section.error}>
      <SectionList section={props.section} className="mlops-model-list" empty="No registered models.">
        {m => <ModelRow key={m.name} model={m} message={props.messages[m.name] ?? null} on={props.on} />}
      </SectionList>
    </PanelSection>
  );
}

function ModelRow(props: { model: ModelSummary; message: Note | null; on: ModelActions }): JSX.Element {
  const { model: m, message, on } = props;
  const aliases = Object.entries(m.aliases)
    .map(([a, v]) => `${a}→v${v}`)
    .join(', ');
  const production = m.aliases['production'];
  return (
    <li className="mlops-model" data-model={m.name}>
      <div className="mlops-model-head">
        <span className="mlops-kind">{m.name}</span>
        <span className="mlops-stage-note">
          {' '}
          v{m.latest} · {aliases || 'no aliases'}
        </span>
      </div>
      {healthLines(m.health).map(line => (
        <div key={line.kind} className={`mlops-model-health${line.warn ? ' mlops-warn' : ''}`} data-check={line.kind} title={`newest ${line.kind} check`}>
          {line.text}
        </div>
      ))}
      <div className="mlops-model-actions">
        <Button
          minimal
          small
          className="mlops-promote"
          disabled={production === m.latest}
          title={`Point production at v${m.latest} (compare first; gates decide)`}
          onClick={() => on.promote(m.name, m.latest)}
        >
          Promote v{m.latest}
        </Button>
        <Button
          minimal
          small
          className="mlops-rollback"
          disabled={production === undefined}
          title="Move production back to its previous version (compare first)"
          onClick={() => on.rollback(m.name)}
        >
          Roll back
        </Button>
      </div>
      <NoteLine note={message} className="mlops-model-message" />
    </li>
  );
}

/**
 * The body of the promote / roll back confirmation: the version `production` points at now
 * (champion) and the one it would point at (challenger), metric by metric.
 */
export function AliasComparison(props: {
  model: string;
  alias: string;
  champion: ModelVersion | null;
  challenger: ModelVersion;
  action: 'promote' | 'rollback';
}): JSX.Element {
  const { champion, challenger } = props;
  const rows = compareMetrics(champion, challenger);
  const label = (v: ModelVersion | null, role: string) => (v ? `v${v.version} (${role})` : `no ${props.alias} version`);
  const newRole = props.action === 'promote' ? 'challenger' : 'rollback target';
  return (
    <div className="mlops-compare">
      <p>
        {props.action === 'promote'
          ? `Point ${props.model}@${props.alias} at v${challenger.version}?`
          : `Move ${props.model}@${props.alias} back to v${challenger.version}?`}{' '}
        {champion ? `It points at v${champion.version} now.` : `Nothing is in ${props.alias} yet.`}
      </p>
      <table className="mlops-compare-table">
        <thead>
          <tr>
            <th scope="col">metric</th>
            <th scope="col" className="mlops-compare-champion">
              {label(champion, props.alias)}
            </th>
            <th scope="col" className="mlops-compare-challenger">
              {label(challenger, newRole)}
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 ? (
            <tr>
              <td colSpan={3} className="mlops-empty">
                Neither version has metrics.
              </td>
            </tr>
          ) : (
            rows.map(r => (
              <tr key={r.metric} className={r.differs ? 'mlops-differs' : 'mlops-same'} data-metric={r.metric}>
                <th scope="row">{r.metric}</th>
                <td>{r.champion}</td>
                <td>
                  {r.challenger}
                  {r.delta !== null ? (
                    <span className="mlops-delta">
                      {' '}
                      ({r.delta > 0 ? '+' : ''}
                      {formatNumber(r.delta)})
                    </span>
                  ) : null}
                </td>
              </tr>
            ))
          )}
        </tbody>
      </table>
      {champion && rows.length > 0 && rows.every(r => !r.differs) ? (
        <p className="mlops-warning mlops-compare-same">The metrics are identical.</p>
      ) : null}
      <p className="mlops-compare-gate">{`v${challenger.version}: ${gateText(challenger)}`}</p>
    </div>
  );
}
