/**
 * The MLOps sidebar: the current notebook's lifecycle, its runs (paginated), a run's
 * detail, and "Run headlessly now". Everything shown comes from the REST API.
 */
import { Signal, ISignal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import {
  ApiError,
  Info,
  LifecycleView,
  MetricPoint,
  MlopsClient,
  ModelSummary,
  PromotionResult,
  Run,
  RunDetail,
  RunsPage
} from './api';
import { h, sparkline } from './dom';
import { formatAgo, formatDuration, formatValue, sparklinePoints, statusClass } from './format';
import { lifecycleIndex, STAGE_KINDS } from './stages';

export const PAGE_SIZE = 20;
const POLL_MS = 5000;
const FAST_POLL_MS = 1500;

export interface PanelCallbacks {
  /** Save the notebook before a headless run reads it from disk. */
  saveNotebook(path: string): Promise<void>;
  /** Open a file (e.g. an executed notebook) in Lab. */
  openFile(path: string): void;
}

/** A selector finding "the same" control after a re-render, or null. */
function focusKey(el: Element | null, root: HTMLElement): string | null {
  if (!el || !root.contains(el) || el === root) {
    return null;
  }
  const runId = el.getAttribute('data-run-id');
  if (runId) {
    return `[data-run-id="${CSS.escape(runId)}"]`;
  }
  const cls = Array.from(el.classList).find(c => c.startsWith('mlops-'));
  return cls ? `${el.tagName.toLowerCase()}.${cls}` : null;
}

export class MlopsPanel extends Widget {
  constructor(
    private readonly client: MlopsClient,
    private readonly callbacks: PanelCallbacks
  ) {
    super();
    this.id = 'mlops-magic:panel';
    this.addClass('mlops-panel');
    this.title.caption = 'MLOps: lifecycle and runs of this notebook';
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', 'MLOps');
    this.render();
  }

  /** Emitted with the lifecycle view each time it is fetched (cell badges use it). */
  get lifecycleChanged(): ISignal<this, LifecycleView | null> {
    return this._lifecycleChanged;
  }

  get notebookPath(): string | null {
    return this._path;
  }

  setNotebook(path: string | null): void {
    if (path === this._path) {
      return;
    }
    this._path = path;
    this._offset = 0;
    this._detail = null;
    this._lifecycle = null;
    this._runs = null;
    this._error = null;
    this.render();
    void this.refresh();
  }

  async refresh(): Promise<void> {
    const path = this._path;
    if (!path) {
      this._lifecycleChanged.emit(null);
      return;
    }
    try {
      if (!this._info) {
        this._info = await this.client.info();
      }
      const models = this._info.features.models ? this.client.models() : Promise.resolve(null);
      const [lifecycle, runs, modelList] = await Promise.all([
        this.client.lifecycle(path),
        this.client.runs({ notebook: path, status: this._status || undefined, limit: PAGE_SIZE, offset: this._offset }),
        models
      ]);
      this._models = modelList?.models ?? null;
      if (path !== this._path) {
        return; // the user switched notebooks meanwhile
      }
      this._lifecycle = lifecycle;
      this._runs = runs;
      this._error = null;
      if (this._detail) {
        this._detail = await this.client.run(this._detail.id);
      }
      this._lifecycleChanged.emit(lifecycle);
    } catch (error) {
      this._error = error instanceof Error ? error.message : String(error);
    }
    this.render();
    this.schedulePoll();
  }

  protected onAfterShow(): void {
    void this.refresh();
  }

  protected onBeforeHide(): void {
    window.clearTimeout(this._timer);
  }

  dispose(): void {
    window.clearTimeout(this._timer);
    super.dispose();
  }

  private schedulePoll(): void {
    window.clearTimeout(this._timer);
    if (this.isDisposed || !this.isVisible) {
      return;
    }
    const running = this._runs?.runs.some(r => r.status === 'running') || this._detail?.status === 'running';
    this._timer = window.setTimeout(() => void this.refresh(), running ? FAST_POLL_MS : POLL_MS);
  }

  private async runNow(): Promise<void> {
    const path = this._path;
    if (!path) {
      return;
    }
    this._message = 'Starting a headless run…';
    this.render();
    try {
      await this.callbacks.saveNotebook(path);
      const run = await this.client.runNow(path);
      this._message = `Run ${run.id.slice(0, 8)} started.`;
      this._offset = 0;
    } catch (error) {
      this._message =
        error instanceof ApiError && error.status === 501
          ? error.message
          : `Could not start the run: ${error instanceof Error ? error.message : error}`;
    }
    await this.refresh();
  }

  private async showRun(runId: string | null): Promise<void> {
    try {
      this._detail = runId ? await this.client.run(runId) : null;
      this._series = {};
      if (this._detail) {
        // Curves for the first few metrics logged at more than one step.
        const keys = Object.entries(this._detail.metrics_latest)
          .filter(([, m]) => m.points > 1)
          .slice(0, 6)
          .map(([k]) => k);
        const series = await Promise.all(keys.map(k => this.client.metric(runId as string, k)));
        for (const s of series) {
          this._series[s.key] = s.points;
        }
      }
    } catch (error) {
      this._error = error instanceof Error ? error.message : String(error);
    }
    this.render();
    const focus = this.node.querySelector<HTMLElement>(runId ? '.mlops-detail-back' : '.mlops-run-row');
    focus?.focus();
  }

  // -- rendering -------------------------------------------------------------------------------
  private render(): void {
    const body: Node[] = [
      h(
        'header',
        { className: 'mlops-header' },
        h('h2', {}, 'MLOps'),
        h(
          'button',
          {
            className: 'jp-Button jp-mod-minimal mlops-refresh',
            title: 'Refresh',
            'aria-label': 'Refresh',
            onclick: () => void this.refresh()
          },
          '⟳'
        )
      )
    ];
    if (!this._path) {
      body.push(h('p', { className: 'mlops-empty' }, 'Open a notebook to see its lifecycle and runs.'));
    } else {
      body.push(h('div', { className: 'mlops-notebook', title: this._path }, this._path));
      if (this._error) {
        body.push(h('div', { className: 'mlops-error', role: 'alert' }, this._error));
      }
      body.push(this._detail ? this.renderDetail(this._detail) : this.renderOverview());
    }
    // Polling re-renders: keep keyboard focus on the same control across it.
    const key = focusKey(document.activeElement, this.node);
    this.node.replaceChildren(...body);
    if (key) {
      this.node.querySelector<HTMLElement>(key)?.focus();
    }
  }

  private renderOverview(): Node {
    const wrap = h('div', { className: 'mlops-overview' });
    wrap.append(this.renderLifecycle(), this.renderActions(), this.renderRuns());
    if (this._models) {
      wrap.append(this.renderModels(this._models));
    }
    return wrap;
  }

  private renderModels(models: ModelSummary[]): Node {
    const section = h('section', { className: 'mlops-models', 'aria-label': 'Models' }, h('h3', {}, 'Models'));
    if (models.length === 0) {
      section.append(h('p', { className: 'mlops-empty' }, 'No registered models.'));
      return section;
    }
    const act = async (what: () => Promise<PromotionResult>) => {
      try {
        const result = await what();
        const c = result.change;
        this._message = result.promoted
          ? `${c.model}@${c.alias}: v${c.from_version ?? '–'} → v${c.to_version}`
          : `${c.model}@${c.alias} unchanged: ${c.reason ?? c.action}`;
      } catch (error) {
        this._message = error instanceof Error ? error.message : String(error);
      }
      await this.refresh();
    };
    const list = h('ul', { className: 'mlops-model-list' });
    for (const m of models) {
      const aliases = Object.entries(m.aliases)
        .map(([a, v]) => `${a}→v${v}`)
        .join(', ');
      const production = m.aliases['production'];
      list.append(
        h(
          'li',
          { className: 'mlops-model', 'data-model': m.name },
          h('span', { className: 'mlops-kind' }, m.name),
          h('span', { className: 'mlops-stage-note' }, ` v${m.latest} · ${aliases || 'no aliases'}`),
          h(
            'div',
            { className: 'mlops-model-actions' },
            h(
              'button',
              {
                className: 'jp-Button jp-mod-minimal mlops-promote',
                disabled: production === m.latest,
                title: `Point production at v${m.latest} (gates decide)`,
                onclick: () => void act(() => this.client.promote(m.name, 'production', m.latest))
              },
              `Promote v${m.latest}`
            ),
            h(
              'button',
              {
                className: 'jp-Button jp-mod-minimal mlops-rollback',
                disabled: production === undefined,
                title: 'Move production back to its previous version',
                onclick: () => void act(() => this.client.rollback(m.name, 'production'))
              },
              'Roll back'
            )
          )
        )
      );
    }
    section.append(list);
    return section;
  }

  private renderLifecycle(): Node {
    const section = h('section', { className: 'mlops-lifecycle', 'aria-label': 'Lifecycle' }, h('h3', {}, 'Lifecycle'));
    const view = this._lifecycle;
    if (!view) {
      section.append(h('p', { className: 'mlops-empty' }, 'Loading…'));
      return section;
    }
    const list = h('ol', { className: 'mlops-stages' });
    const stages = [...view.stages].sort(
      (a, b) => lifecycleIndex(a.kind) - lifecycleIndex(b.kind) || a.cell_index - b.cell_index
    );
    for (const kind of STAGE_KINDS) {
      const ofKind = stages.filter(s => s.kind === kind);
      if (ofKind.length === 0) {
        list.append(
          h(
            'li',
            { className: 'mlops-stage mlops-stage-missing', 'data-kind': kind },
            h('span', { className: 'mlops-kind' }, kind),
            h('span', { className: 'mlops-stage-note' }, 'no cell')
          )
        );
        continue;
      }
      for (const stage of ofKind) {
        const ran = stage.status !== 'not run';
        list.append(
          h(
            'li',
            {
              className: `mlops-stage ${statusClass(ran ? stage.status : null)}`,
              'data-kind': kind,
              'data-status': ran ? stage.status : 'never',
              title: stage.error ?? (ran ? `attempt ${stage.attempt} of ${stage.attempts}, ${formatAgo(stage.started)}` : 'not run yet')
            },
            h('span', { className: 'mlops-kind' }, kind),
            h('span', { className: 'mlops-stage-name' }, stage.name === kind ? '' : stage.name),
            h('span', { className: 'mlops-status' }, stage.status),
            h('span', { className: 'mlops-duration' }, ran ? formatDuration(stage.duration) : ''),
            stage.warnings.length ? h('span', { className: 'mlops-warning', title: stage.warnings.join('\n') }, '⚠') : null
          )
        );
        for (const warning of stage.warnings ?? []) {
          list.append(h('li', { className: 'mlops-stage-warning' }, warning));
        }
      }
    }
    section.append(list);
    for (const warning of view.warnings ?? []) {
      section.append(h('p', { className: 'mlops-warning' }, warning));
    }
    return section;
  }

  private renderActions(): Node {
    return h(
      'section',
      { className: 'mlops-actions' },
      h(
        'button',
        { className: 'jp-Button jp-mod-styled jp-mod-accept mlops-run-now', onclick: () => void this.runNow() },
        'Run headlessly now'
      ),
      this._message ? h('span', { className: 'mlops-message', role: 'status' }, this._message) : null
    );
  }

  private renderRuns(): Node {
    const section = h('section', { className: 'mlops-runs', 'aria-label': 'Runs' }, h('h3', {}, 'Runs'));
    const filter = h(
      'select',
      {
        className: 'jp-mod-styled mlops-status-filter',
        'aria-label': 'Filter runs by status',
        onchange: (event: Event) => {
          this._status = (event.target as HTMLSelectElement).value;
          this._offset = 0;
          void this.refresh();
        }
      },
      ...['', 'running', 'succeeded', 'failed', 'timed-out', 'killed'].map(s =>
        h('option', { value: s, selected: s === this._status }, s || 'any status')
      )
    );
    section.append(filter);
    const page = this._runs;
    if (!page) {
      return section;
    }
    if (page.runs.length === 0) {
      section.append(h('p', { className: 'mlops-empty' }, 'No runs yet: run a stage cell, or run headlessly.'));
      return section;
    }
    const list = h('ul', { className: 'mlops-run-list' });
    for (const run of page.runs) {
      list.append(this.renderRunRow(run));
    }
    section.append(list, this.renderPager(page));
    return section;
  }

  private renderRunRow(run: Run): Node {
    const metrics = Object.entries(run.metrics ?? {}).slice(0, 2);
    return h(
      'li',
      {},
      h(
        'button',
        {
          className: `mlops-run-row ${statusClass(run.status)}`,
          'data-run-id': run.id,
          title: `Run ${run.id}: ${run.status}`,
          onclick: () => void this.showRun(run.id)
        },
        h('span', { className: 'mlops-run-id' }, run.id.slice(0, 8)),
        h('span', { className: 'mlops-status' }, run.status),
        h('span', { className: 'mlops-trigger' }, run.trigger),
        h('span', { className: 'mlops-ago' }, formatAgo(run.started)),
        h('span', { className: 'mlops-duration' }, formatDuration(run.duration)),
        h('span', { className: 'mlops-metrics' }, metrics.map(([k, v]) => `${k}=${formatValue(v)}`).join(' '))
      )
    );
  }

  private renderPager(page: RunsPage): Node {
    const first = page.total === 0 ? 0 : page.offset + 1;
    const last = page.offset + page.runs.length;
    const go = (offset: number) => {
      this._offset = Math.max(0, offset);
      void this.refresh();
    };
    return h(
      'nav',
      { className: 'mlops-pager', 'aria-label': 'Run pages' },
      h('button', { className: 'jp-Button jp-mod-minimal', disabled: page.offset === 0, onclick: () => go(page.offset - PAGE_SIZE) }, '‹ Newer'),
      h('span', {}, `${first}–${last} of ${page.total}`),
      h('button', { className: 'jp-Button jp-mod-minimal', disabled: page.next_offset === null, onclick: () => go(page.next_offset ?? 0) }, 'Older ›')
    );
  }

  private renderDetail(detail: RunDetail): Node {
    const run = detail;
    const section = h(
      'section',
      { className: 'mlops-detail', 'aria-label': `Run ${run.id}` },
      h('button', { className: 'jp-Button jp-mod-minimal mlops-detail-back', onclick: () => void this.showRun(null) }, '‹ All runs'),
      h('h3', {}, `Run ${run.id.slice(0, 8)}`),
      h(
        'dl',
        { className: 'mlops-facts' },
        h('dt', {}, 'status'),
        h('dd', { className: statusClass(run.status) }, run.status),
        h('dt', {}, 'trigger'),
        h('dd', {}, run.trigger),
        h('dt', {}, 'started'),
        h('dd', { title: run.started }, formatAgo(run.started)),
        h('dt', {}, 'duration'),
        h('dd', {}, formatDuration(run.duration))
      )
    );
    if (run.error) {
      section.append(h('pre', { className: 'mlops-error' }, run.error));
    }
    const params = Object.entries(run.params ?? {});
    if (params.length) {
      const table = h('table', { className: 'mlops-params' }, h('caption', {}, 'Parameters'));
      for (const [k, v] of params) {
        table.append(h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, formatValue(v))));
      }
      section.append(table);
    }
    if (detail.stages.length) {
      const list = h('ol', { className: 'mlops-stages' });
      for (const s of detail.stages) {
        list.append(
          h(
            'li',
            { className: `mlops-stage ${statusClass(s.status)}` },
            h('span', { className: 'mlops-kind' }, s.kind),
            h('span', { className: 'mlops-stage-name' }, s.name === s.kind ? '' : s.name),
            h('span', { className: 'mlops-status' }, s.status),
            h('span', { className: 'mlops-duration' }, formatDuration(s.duration))
          )
        );
      }
      section.append(h('h4', {}, 'Stages'), list);
    }
    const metrics = Object.entries(detail.metrics_latest ?? {});
    if (metrics.length) {
      const charts = h('div', { className: 'mlops-charts' });
      for (const [key, latest] of metrics) {
        const points = this._series[key];
        charts.append(
          h(
            'figure',
            { className: 'mlops-chart' },
            points && points.length > 1 ? sparkline(sparklinePoints(points, 120, 28), 120, 28, `${key} over steps`) : null,
            h('figcaption', {}, `${key} = ${formatValue(latest.value)} (step ${latest.step})`)
          )
        );
      }
      section.append(h('h4', {}, 'Metrics'), charts);
    }
    if (detail.artifacts.length) {
      const list = h('ul', { className: 'mlops-artifacts' });
      for (const a of detail.artifacts) {
        list.append(h('li', {}, h('a', { href: this.client.artifactUrl(run.id, a.name), download: a.name }, a.name), ` ${a.size} B`));
      }
      section.append(h('h4', {}, 'Artifacts'), list);
    }
    if (run.notebook_path) {
      const nb = run.notebook_path;
      section.append(
        h('button', { className: 'jp-Button jp-mod-styled', onclick: () => this.callbacks.openFile(nb) }, 'Open notebook')
      );
    }
    return section;
  }

  private _path: string | null = null;
  private _lifecycle: LifecycleView | null = null;
  private _runs: RunsPage | null = null;
  private _detail: RunDetail | null = null;
  private _series: Record<string, MetricPoint[]> = {};
  private _info: Info | null = null;
  private _models: ModelSummary[] | null = null;
  private _error: string | null = null;
  private _message: string | null = null;
  private _status = '';
  private _offset = 0;
  private _timer = 0;
  private _lifecycleChanged = new Signal<this, LifecycleView | null>(this);
}
