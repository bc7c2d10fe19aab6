/** The Runs section (a filterable, paginated list) and a run's detail. */
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import type { MetricPoint, Run, RunDetail, RunsPage } from './api';
import { formatAgo, formatBytes, formatDuration, formatNumber, formatParam, formatSystem, isResultMetric, sparklinePoints, statusClass } from './format';
import { emptyRunsText, metricPairs } from './panel-logic';
import { PAGE_SIZE, Section } from './panel-model';
import { PanelSection, SectionError } from './panel-parts';

export interface RunsActions {
  filter(status: string): void;
  page(offset: number): void;
  open(runId: string): void;
  /** Open the main-area runs view (null when that command is not installed). */
  openRunsView: (() => void) | null;
}

export function RunsSection(props: {
  section: Section<RunsPage>;
  status: string;
  statuses: readonly string[];
  on: RunsActions;
}): JSX.Element {
  const { section, status, statuses, on } = props;
  const page = section.data;
  const openRunsView = on.openRunsView ? (
    <Button minimal small className="mlops-open-runs-view" title="Every run, sortable, filterable, to compare" onClick={on.openRunsView}>
      Open runs view
    </Button>
  ) : null;
  const filter = (
    <select
      className="jp-mod-styled mlops-status-filter"
      aria-label="Filter runs by status"
      value={status}
      onChange={e => on.filter(e.currentTarget.value)}
    >
      <option value="">any status</option>
      {statuses.map(s => (
        <option key={s} value={s}>
          {s}
        </option>
      ))}
    </select>
  );
  return (
    <PanelSection className="mlops-runs" title="Runs" error={section.error} actions={openRunsView} controls={filter}>
      {!page ? null : page.runs.length === 0 ? (
        <p className="mlops-empty">{emptyRunsText(status)}</p>
      ) : (
        <>
          <ul className="mlops-run-list">
            {page.runs.map(run => (
              <RunRow key={run.id} run={run} open={on.open} />
            ))}
          </ul>
          <Pager page={page} on={on} />
        </>
      )}
    </PanelSection>
  );
}

function RunRow(props: { run: Run; open(runId: string): void }): JSX.Element {
  const { run } = props;
  const metrics = metricPairs(run.metrics);
  return (
    <li>
      <button
        type="button"
        className={`mlops-run-row ${statusClass(run.status)}`}
        data-run-id={run.id}
        title={`Run ${run.id}: ${run.status}${metrics.all ? `\n${metrics.all}` : ''}`}
        onClick={() => props.open(run.id)}
      >
        <span className="mlops-run-id">{run.id.slice(0, 8)}</span>
        <span className="mlops-status">{run.status}</span>
        <span className="mlops-ago">{formatAgo(run.started)}</span>
        <span className="mlops-trigger">{run.trigger}</span>
        <span className="mlops-duration">{formatDuration(run.duration)}</span>
        {metrics.shown.length ? (
          <span className="mlops-metrics">
            {metrics.shown.map(([k, v]) => (
              <span key={k} className="mlops-metric">
                <span className="mlops-metric-key">{k}</span> <span className="mlops-metric-value">{v}</span>
              </span>
            ))}
          </span>
        ) : null}
      </button>
    </li>
  );
}

function Pager(props: { page: RunsPage; on: RunsActions }): JSX.Element {
  const { page, on } = props;
  const first = page.total === 0 ? 0 : page.offset + 1;
  const last = page.offset + page.runs.length;
  return (
    <nav className="mlops-pager" aria-label="Run pages">
      <Button minimal small disabled={page.offset === 0} onClick={() => on.page(page.offset - PAGE_SIZE)}>
        ‹ Newer
      </Button>
      <span>
        {first}–{last} of {page.total}
      </span>
      <Button minimal small disabled={page.next_offset === null} onClick={() => on.page(page.next_offset ?? 0)}>
        Older ›
      </Button>
    </nav>
  );
}

export interface DetailActions {
  back(): void;
  openFile(path: string): void;
  artifactUrl(runId: string, name: string): string;
  reportUrl(runId: string): string;
}

function Sparkline(props: { points: MetricPoint[]; label: string }): JSX.Element {
  const [w, h] = [120, 28];
  const numeric = props.points.filter((p): p is MetricPoint & { value: number } => typeof p.value === 'number');
  return (
    <svg className="mlops-sparkline" viewBox={`-2 -2 ${w + 4} ${h + 4}`} width={w} height={h} role="img" aria-label={props.label}>
      <polyline points={sparklinePoints(numeric, w, h)} />
    </svg>
  );
}

export function RunDetailView(props: {
  detail: RunDetail;
  series: Record<string, MetricPoint[]>;
  error: string | null;
  on: DetailActions;
}): JSX.Element {
  const { detail: run, series, on } = props;
  const params = Object.entries(run.params ?? {});
  const metrics = Object.entries(run.metrics_latest ?? {}).filter(([k]) => isResultMetric(k));
  const system = formatSystem(run.system);
  const notebook = run.notebook_path;
  return (
    <section className="mlops-detail" aria-label={`Run ${run.id}`}>
      <Button minimal small className="mlops-detail-back" onClick={on.back}>
        ‹ All runs
      </Button>
      <h3>Run {run.id.slice(0, 8)}</h3>
      <SectionError error={props.error} />
      <dl className="mlops-facts">
        <dt>status</dt>
        <dd className={statusClass(run.status)}>{run.status}</dd>
        <dt>trigger</dt>
        <dd>{run.trigger}</dd>
        <dt>started</dt>
        <dd title={run.started}>{formatAgo(run.started)}</dd>
        <dt>duration</dt>
        <dd className="mlops-duration">{formatDuration(run.duration)}</dd>
        {system ? (
          <>
            <dt>system</dt>
            <dd className="mlops-system">{system}</dd>
          </>
        ) : null}
      </dl>
      {run.error ? <pre className="mlops-error">{run.error}</pre> : null}
      {params.length ? (
        <table className="mlops-params">
          <caption>Parameters</caption>
          <tbody>
            {params.map(([k, v]) => (
              <tr key={k}>
                <th scope="row" title={k}>
                  {k}
                </th>
                <td title={formatParam(v)}>{formatParam(v)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {run.stages.length ? (
        <>
          <h4>Stages</h4>
          <ol className="mlops-stages">
            {run.stages.map(s => (
              <li key={s.id} className={`mlops-stage ${statusClass(s.status)}`}>
                <span className="mlops-kind">{s.kind}</span>
                <span className="mlops-stage-name">{s.name === s.kind ? '' : s.name}</span>
                <span className="mlops-status">{s.status}</span>
                <span className="mlops-duration">{formatDuration(s.duration)}</span>
                <span className="mlops-stage-warn" />
              </li>
            ))}
          </ol>
        </>
      ) : null}
      {metrics.length ? (
        <>
          <h4>Metrics</h4>
          <div className="mlops-charts">
            {metrics.map(([key, latest]) => {
              const points = series[key];
              return (
                <figure key={key} className="mlops-chart">
                  {points && points.length > 1 ? <Sparkline points={points} label={`${key} over steps`} /> : null}
                  <figcaption>
                    <span className="mlops-metric-key">{key}</span> <span className="mlops-metric-value">{formatNumber(latest.value)}</span>
                    {latest.points > 1 ? <span className="mlops-stage-note"> (step {latest.step})</span> : null}
                  </figcaption>
                </figure>
              );
            })}
          </div>
        </>
      ) : null}
      {run.artifacts.length ? (
        <>
          <h4>Artifacts</h4>
          <ul className="mlops-artifacts">
            {run.artifacts.map(a => (
              <li key={a.name}>
                <a href={on.artifactUrl(run.id, a.name)} download={a.name} title={`${a.name}: ${a.size} bytes`}>
                  {a.name}
                </a>{' '}
                <span className="mlops-size">{formatBytes(a.size)}</span>
              </li>
            ))}
          </ul>
        </>
      ) : null}
      <div className="mlops-detail-links">
        {notebook ? (
          <Button className="jp-mod-styled mlops-open-notebook" onClick={() => on.openFile(notebook)}>
            Open notebook
          </Button>
        ) : null}
        {/* The report opens in a browser tab, served sandboxed by the server (no scripts run in it). */}
        <a className="mlops-report-link" href={on.reportUrl(run.id)} target="_blank" rel="noopener noreferrer">
          Open report
        </a>
      </div>
    </section>
  );
}
