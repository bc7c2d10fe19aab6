/**
 * Two or more runs side by side: params, latest metrics and the data fingerprints of each
 * stage, with the rows that differ marked; metric charts over steps (single values stay values);
 * links to each run's report and notebook.
 */
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import type { At, MlopsClient } from '../api';

import { MetricChart, ChartSeries } from './chart';
import {
  chartedMetrics,
  CompareRow,
  compareFingerprints,
  compareHead,
  compareMetrics,
  compareParams,
  RunDetail
} from './model';
import { objectiveCharts } from './sweeps';

export interface CompareActions {
  openNotebook(path: string): void;
}

const KEY_WIDTH = 240;
const RUN_WIDTH = 240;

/** Every compare table has the same columns, so the runs line up from section to section. */
function Cols({ n }: { n: number }) {
  return (
    <colgroup>
      <col style={{ width: KEY_WIDTH }} />
      {Array.from({ length: n }, (_, i) => (
        <col key={i} style={{ width: RUN_WIDTH }} />
      ))}
    </colgroup>
  );
}

const tableWidth = (n: number): React.CSSProperties => ({ width: KEY_WIDTH + n * RUN_WIDTH });

function Section({
  title,
  rows,
  runs,
  onlyDiffs,
  className,
  none
}: {
  title: string;
  rows: CompareRow[];
  runs: RunDetail[];
  onlyDiffs: boolean;
  className: string;
  none: string;
}) {
  const shown = onlyDiffs ? rows.filter(r => r.differs) : rows;
  const diffs = rows.filter(r => r.differs).length;
  return (
    <section className={`mlops-rv-section ${className}`}>
      <h3>
        {title} <span className="mlops-rv-muted">{rows.length ? `${diffs} of ${rows.length} differ` : ''}</span>
      </h3>
      {!rows.length ? (
        <p className="mlops-rv-note">{none}</p>
      ) : !shown.length ? (
        <p className="mlops-rv-note">All the same.</p>
      ) : (
        <table className="mlops-rv-compare-table" style={tableWidth(runs.length)}>
          <Cols n={runs.length} />
          <thead>
            <tr>
              <th scope="col">{className === 'mlops-rv-fingerprints' ? 'stage · data' : 'name'}</th>
              {runs.map(r => (
                <th scope="col" key={r.id}>
                  {(r.id ?? '').slice(0, 8)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {shown.map(row => (
              <tr
                key={`${row.stage ?? ''}/${row.key}`}
                className={row.differs ? 'mlops-rv-differs' : undefined}
                data-key={row.key}
                data-stage={row.stage}
              >
                <th scope="row">
                  <span className="mlops-rv-diff-mark" aria-label={row.differs ? 'differs' : 'same'} title={row.differs ? 'differs' : 'same'}>
                    {row.differs ? '≠' : ''}
                  </span>
                  {row.stage ? <span className="mlops-rv-stage">{row.stage}</span> : null}
                  {row.key}
                </th>
                {row.values.map((v, i) => (
                  <td key={i} title={v}>
                    {v || <span className="mlops-rv-muted">—</span>}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The store the runs are in: the client and the notebook path it reads for. */
interface Store {
  client: MlopsClient;
  at: At;
}

/** A sweep's points compared (*Compare points*): the objective against each parameter, one dot per point. */
function ObjectiveSection({ runs, objectives }: { runs: RunDetail[]; objectives: string[] }) {
  const charts = objectiveCharts(runs, objectives);
  return (
    <section className="mlops-rv-section mlops-rv-objective">
      <h3>{objectives.length ? objectives.join(', ') : 'Metrics'} against each parameter</h3>
      {!charts.length ? <p className="mlops-rv-note">No parameter is a number that varies between these points.</p> : null}
      <div className="mlops-rv-chart-grid">
        {charts.map(c => (
          <div key={`${c.metric}/${c.param}`} className="mlops-rv-chart-box">
            <h4>
              {c.metric} against {c.param}
            </h4>
            <MetricChart metric={c.metric} series={c.series} against={c.param} />
          </div>
        ))}
      </div>
    </section>
  );
}

function CompareBody({ store, ids, objectives, actions }: { store: Store; ids: string[]; objectives?: string[]; actions: CompareActions }) {
  const { client, at } = store;
  const [runs, setRuns] = React.useState<RunDetail[] | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [charts, setCharts] = React.useState<Record<string, ChartSeries[]> | null>(null);
  const [onlyDiffs, setOnlyDiffs] = React.useState(false);

  React.useEffect(() => {
    let live = true;
    Promise.all(ids.map(id => client.run(id, at)))
      .then(async details => {
        if (!live) {
          return;
        }
        setRuns(details);
        const keys = chartedMetrics(details);
        const out: Record<string, ChartSeries[]> = {};
        await Promise.all(
          keys.map(async key => {
            const series = await Promise.all(
              details.map(async d => {
                if (!d.metrics_latest?.[key]) {
                  return null;
                }
                const s = await client.metric(d.id ?? '', key, at);
                return {
                  label: (d.id ?? '').slice(0, 8),
                  points: (s.points ?? []).map(p => ({ step: p.step ?? 0, value: typeof p.value === 'number' ? p.value : Number(p.value) }))
                };
              })
            );
            out[key] = series.filter((s): s is ChartSeries => s !== null);
          })
        );
        if (live) {
          setCharts(out);
        }
      })
      .catch(e => live && setError((e as Error).message));
    return () => {
      live = false;
    };
  }, [client, at, ids.join(',')]);

  if (error) {
    return <div className="mlops-rv-compare mlops-rv-error">Could not load the runs: {error}</div>;
  }
  if (!runs) {
    return <div className="mlops-rv-compare mlops-rv-note">Loading {ids.length} runs…</div>;
  }
  const params = compareParams(runs);
  const metrics = compareMetrics(runs);
  const fingerprints = compareFingerprints(runs);
  const charted = chartedMetrics(runs);
  const singles = metrics.filter(m => !charted.includes(m.key)).map(m => m.key);
  return (
    <div className="mlops-rv-compare">
      <div className="mlops-rv-compare-head">
        <h2>Comparing {runs.length} runs</h2>
        <label className="mlops-rv-only-diffs">
          <input type="checkbox" checked={onlyDiffs} onChange={e => setOnlyDiffs(e.currentTarget.checked)} /> only differences
        </label>
      </div>
      <table className="mlops-rv-compare-table mlops-rv-runs-head" style={tableWidth(runs.length)}>
        <Cols n={runs.length} />
        <thead>
          <tr>
            <th scope="col">run</th>
            {runs.map(r => (
              <th scope="col" key={r.id} data-run-id={r.id}>
                {(r.id ?? '').slice(0, 8)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {compareHead(runs).map(({ key, values }) => (
            <tr key={key}>
              <th scope="row">{key}</th>
              {values.map((v, i) => (
                <td key={runs[i].id}>{v}</td>
              ))}
            </tr>
          ))}
          <tr className="mlops-rv-links">
            <th scope="row">open</th>
            {runs.map(r => {
              const executed = (r.artifacts ?? []).find(a => a.name === 'executed.ipynb');
              return (
                <td key={r.id}>
                  <span className="mlops-rv-link-row">
                    <a className="mlops-rv-report" href={client.reportUrl(r.id ?? '', at)} target="_blank" rel="noopener noreferrer">
                      Report
                    </a>
                    {r.notebook_path ? (
                      <button className="mlops-rv-link mlops-rv-open-notebook" onClick={() => actions.openNotebook(r.notebook_path as string)}>
                        Notebook
                      </button>
                    ) : null}
                    {executed ? (
                      <a className="mlops-rv-executed" href={client.artifactUrl(r.id ?? '', 'executed.ipynb', at)} download="executed.ipynb">
                        executed.ipynb
                      </a>
                    ) : null}
                  </span>
                </td>
              );
            })}
          </tr>
        </tbody>
      </table>
      {objectives ? <ObjectiveSection runs={runs} objectives={objectives} /> : null}
      <Section title="Parameters" className="mlops-rv-params" rows={params} runs={runs} onlyDiffs={onlyDiffs} none="No parameters recorded." />
      <Section title="Metrics (latest)" className="mlops-rv-metrics" rows={metrics} runs={runs} onlyDiffs={onlyDiffs} none="No metrics recorded." />
      <Section
        title="Data fingerprints by stage"
        className="mlops-rv-fingerprints"
        rows={fingerprints}
        runs={runs}
        onlyDiffs={onlyDiffs}
        none="No data fingerprinted (frames and files a stage reads or writes are fingerprinted when it runs)."
      />
      <section className="mlops-rv-section mlops-rv-charts">
        <h3>Metrics over steps</h3>
        {singles.length ? (
          <p className="mlops-rv-note">Logged once per run, so shown as values above: {singles.join(', ')}.</p>
        ) : null}
        {!charted.length ? <p className="mlops-rv-note">No metric was logged over several steps.</p> : null}
        {charted.length && !charts ? <p className="mlops-rv-note">Loading charts…</p> : null}
        <div className="mlops-rv-chart-grid">
          {charts
            ? charted.map(key => (
                <div key={key} className="mlops-rv-chart-box">
                  <h4>{key}</h4>
                  <MetricChart metric={key} series={charts[key] ?? []} />
                </div>
              ))
            : null}
        </div>
      </section>
    </div>
  );
}

export class CompareView extends ReactWidget {
  constructor(
    private readonly store: Store,
    readonly ids: string[],
    private readonly actions: CompareActions,
    /** A sweep's points: its objective (possibly none), charted against each parameter. */
    private readonly objectives?: string[]
  ) {
    super();
    this.addClass('mlops-runs-compare');
  }

  render(): JSX.Element {
    return <CompareBody store={this.store} ids={this.ids} objectives={this.objectives} actions={this.actions} />;
  }
}
