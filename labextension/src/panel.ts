/**
 * The MLOps sidebar: the current notebook's lifecycle, "Run headlessly now" with parameters,
 * its runs (paginated) and a run's detail, models, and schedules. Everything shown comes
 * from the REST API; each section renders in its own module (panel-*.ts), this class holds
 * the state, fetches, polls and acts.
 */
import { Signal, ISignal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { LifecycleView, MetricPoint, MlopsClient, ModelSummary, PromotionResult, RunDetail, RunsPage, Schedule, ScheduleSpec } from './api';
import { h } from './dom';
import { renderLifecycle } from './panel-lifecycle';
import { renderModels } from './panel-models';
import { renderActions, RunNowForm } from './panel-runnow';
import { PAGE_SIZE, renderDetail, renderRuns } from './panel-runs';
import { renderSchedules, ScheduleActions, ScheduleForm } from './panel-schedules';

export { PAGE_SIZE };
const POLL_MS = 5000;
const FAST_POLL_MS = 1500;

export interface PanelCallbacks {
  /** Save the notebook before a headless run reads it from disk. */
  saveNotebook(path: string): Promise<void>;
  /** Open a file (e.g. an executed notebook) in Lab. */
  openFile(path: string): void;
  /** The source of the open notebook's cell tagged `parameters`, or null. */
  parametersSource(path: string): string | null;
  /** Ask before something destructive; resolves true to go ahead. */
  confirm(title: string, body: string, action: string): Promise<boolean>;
}

/** A selector finding "the same" control after a re-render, or null. */
function focusKey(el: Element | null, root: HTMLElement): string | null {
  if (!el || !root.contains(el) || el === root) {
    return null;
  }
  for (const attr of ['data-run-id', 'data-schedule-id']) {
    const id = el.getAttribute(attr);
    if (id) {
      return `[${attr}="${CSS.escape(id)}"]`;
    }
  }
  const cls = Array.from(el.classList).find(c => c.startsWith('mlops-'));
  if (!cls) {
    return null;
  }
  const row = el.parentElement?.closest('[data-schedule-id]');
  const scope = row ? `[data-schedule-id="${CSS.escape(row.getAttribute('data-schedule-id') as string)}"] ` : '';
  return `${scope}${el.tagName.toLowerCase()}.${cls}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class MlopsPanel extends Widget {
  constructor(
    private readonly client: MlopsClient,
    private readonly callbacks: PanelCallbacks
  ) {
    super();
    this.id = 'mlops-magic:panel';
    this.addClass('mlops-panel');
    this.title.caption = 'MLOps: lifecycle, runs and schedules of this notebook';
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', 'MLOps');
    this._runForm = new RunNowForm(() => (this._path ? this.callbacks.parametersSource(this._path) : null));
    this._scheduleActions = {
      add: spec => this.addSchedule(spec),
      setPaused: (id, paused) =>
        void this.scheduleAction(() => this.client.setPaused(id, paused), paused ? 'paused' : 'resumed', id).then(() =>
          // The button turned into its opposite: keep the keyboard on it.
          this.node.querySelector<HTMLElement>(`[data-schedule-id="${CSS.escape(id)}"] .mlops-schedule-${paused ? 'resume' : 'pause'}`)?.focus()
        ),
      remove: id => void this.removeSchedule(id)
    };
    this._scheduleForm = new ScheduleForm(this._scheduleActions.add);
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
    this._schedules = null;
    this._error = null;
    this._message = null;
    this._scheduleMessage = null;
    this._runForm.reset();
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
      const [lifecycle, runs, modelList, scheduleList] = await Promise.all([
        this.client.lifecycle(path),
        this.client.runs({ notebook: path, status: this._status || undefined, limit: PAGE_SIZE, offset: this._offset }),
        this.client.models(),
        this.client.schedules(path)
      ]);
      if (path !== this._path) {
        return; // the user switched notebooks meanwhile
      }
      this._models = modelList.models;
      this._schedules = scheduleList.schedules;
      this._lifecycle = lifecycle;
      this._runs = runs;
      this._error = null;
      if (this._detail) {
        this._detail = await this.client.run(this._detail.id);
      }
      this._lifecycleChanged.emit(lifecycle);
    } catch (error) {
      this._error = messageOf(error);
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
    const active = (s?: string) => s === 'queued' || s === 'running';
    const running = this._runs?.runs.some(r => active(r.status)) || active(this._detail?.status);
    this._timer = window.setTimeout(() => void this.refresh(), running ? FAST_POLL_MS : POLL_MS);
  }

  // -- actions ---------------------------------------------------------------------------------
  private async runNow(): Promise<void> {
    const path = this._path;
    if (!path) {
      return;
    }
    const { params, errors } = this._runForm.params();
    if (errors.length) {
      this._message = `Parameters: ${errors[0]}`;
      this.render();
      return;
    }
    this._message = 'Starting a headless run…';
    this.render();
    try {
      await this.callbacks.saveNotebook(path);
      const run = await this.client.runNow(path, params);
      const names = Object.keys(params);
      this._message = `Run ${run.id.slice(0, 8)} started${names.length ? ` with ${names.join(', ')}` : ''}.`;
      this._offset = 0;
    } catch (error) {
      this._message = `Could not start the run: ${messageOf(error)}`;
    }
    await this.refresh();
  }

  private async promote(what: () => Promise<PromotionResult>): Promise<void> {
    try {
      const result = await what();
      const c = result.change;
      this._message = result.promoted
        ? `${c.model}@${c.alias}: v${c.from_version ?? '–'} → v${c.to_version}`
        : `${c.model}@${c.alias} unchanged: ${c.reason ?? c.action}`;
    } catch (error) {
      this._message = messageOf(error);
    }
    await this.refresh();
  }

  private async addSchedule(spec: ScheduleSpec): Promise<boolean> {
    const path = this._path;
    if (!path) {
      return false;
    }
    try {
      await this.callbacks.saveNotebook(path); // the server checks the stages against the saved file
      const made = await this.client.addSchedule(path, spec);
      this._scheduleMessage = { text: `Schedule ${made.id.slice(0, 8)} added: ${made.triggers}.`, error: false };
      await this.refresh();
      return true;
    } catch (error) {
      this._scheduleMessage = { text: messageOf(error), error: true };
      this.render();
      return false;
    }
  }

  private async scheduleAction(what: () => Promise<unknown>, done: string, id: string): Promise<void> {
    try {
      await what();
      this._scheduleMessage = { text: `Schedule ${id.slice(0, 8)} ${done}.`, error: false };
    } catch (error) {
      this._scheduleMessage = { text: messageOf(error), error: true };
    }
    await this.refresh();
  }

  private async removeSchedule(id: string): Promise<void> {
    const ok = await this.callbacks.confirm(
      'Remove schedule',
      `Remove schedule ${id.slice(0, 8)}? Its runs stay in the store.`,
      'Remove'
    );
    if (ok) {
      await this.scheduleAction(() => this.client.removeSchedule(id), 'removed', id);
      this.node.querySelector<HTMLElement>('.mlops-schedule-pause, .mlops-schedule-resume, .mlops-schedule-add-summary')?.focus();
    }
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
      this._error = messageOf(error);
    }
    this.render();
    const focus = this.node.querySelector<HTMLElement>(runId ? '.mlops-detail-back' : '.mlops-run-row');
    focus?.focus();
  }

  // -- rendering -------------------------------------------------------------------------------
  private render(): void {
    // Polling re-renders: keep keyboard focus (and the caret in a form) on the same control. Read it
    // before building the new body: building moves the kept forms out of the page, which drops focus.
    const active = document.activeElement;
    const kept = active instanceof HTMLElement && (this._runForm.node.contains(active) || this._scheduleForm.node.contains(active));
    const selection =
      active instanceof HTMLInputElement || active instanceof HTMLTextAreaElement ? [active.selectionStart, active.selectionEnd] : null;
    const key = kept ? null : focusKey(active, this.node);
    const body: Node[] = [
      h(
        'header',
        { className: 'mlops-header' },
        h('h2', {}, 'MLOps'),
        h(
          'button',
          { className: 'jp-Button jp-mod-minimal mlops-refresh', title: 'Refresh', 'aria-label': 'Refresh', onclick: () => void this.refresh() },
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
    this.node.replaceChildren(...body);
    if (kept && this.node.contains(active)) {
      (active as HTMLElement).focus();
      if (selection && (active instanceof HTMLInputElement || active instanceof HTMLTextAreaElement)) {
        active.setSelectionRange(selection[0], selection[1]);
      }
    } else if (key) {
      this.node.querySelector<HTMLElement>(key)?.focus();
    }
  }

  private renderOverview(): Node {
    const wrap = h('div', { className: 'mlops-overview' });
    wrap.append(
      renderLifecycle(this._lifecycle),
      renderActions(this._runForm, this._message, () => void this.runNow()),
      renderRuns(this._runs, this._status, {
        filter: status => {
          this._status = status;
          this._offset = 0;
          void this.refresh();
        },
        page: offset => {
          this._offset = Math.max(0, offset);
          void this.refresh();
        },
        open: runId => void this.showRun(runId)
      })
    );
    wrap.append(renderSchedules(this._schedules, this._scheduleForm, this._scheduleMessage, this._scheduleActions));
    if (this._models) {
      wrap.append(
        renderModels(this._models, {
          promote: (model, version) => void this.promote(() => this.client.promote(model, 'production', version)),
          rollback: model => void this.promote(() => this.client.rollback(model, 'production'))
        })
      );
    }
    return wrap;
  }

  private renderDetail(detail: RunDetail): Node {
    return renderDetail(detail, this._series, {
      back: () => void this.showRun(null),
      openFile: path => this.callbacks.openFile(path),
      artifactUrl: (runId, name) => this.client.artifactUrl(runId, name),
      reportUrl: runId => this.client.reportUrl(runId)
    });
  }

  private _path: string | null = null;
  private _lifecycle: LifecycleView | null = null;
  private _runs: RunsPage | null = null;
  private _detail: RunDetail | null = null;
  private _series: Record<string, MetricPoint[]> = {};
  private _models: ModelSummary[] | null = null;
  private _schedules: Schedule[] | null = null;
  private _error: string | null = null;
  private _message: string | null = null;
  private _scheduleMessage: { text: string; error: boolean } | null = null;
  private _status = '';
  private _offset = 0;
  private _timer = 0;
  private readonly _runForm: RunNowForm;
  private readonly _scheduleForm: ScheduleForm;
  private readonly _scheduleActions: ScheduleActions;
  private _lifecycleChanged = new Signal<this, LifecycleView | null>(this);
}
