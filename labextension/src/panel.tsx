/**
 * The MLOps sidebar: the current notebook's lifecycle, "Run headlessly now" with parameters,
 * its runs (paginated) and a run's detail, models, and schedules; which store it reads.
 *
 * A ReactWidget over a PanelModel: the model emits only when an answer differs from what is
 * shown, React patches only what differs, so focus, the caret, scroll positions and open
 * `<details>` survive every poll, and a poll that changes nothing writes nothing to the DOM.
 */
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';
import { ISignal } from '@lumino/signaling';

import type { LifecycleView, MlopsClient, ModelVersion, PromotionResult } from './api';
import { enums } from './enums';
import { storeLabel } from './format';
import { aliasVersion, rollbackTarget } from './panel-logic';
import { LifecycleSection } from './panel-lifecycle';
import { AliasComparison, ModelsSection } from './panel-models';
import { messageOf, ModelCallbacks, PanelModel, PanelState } from './panel-model';
import { RunNowForm, RunNowSection } from './panel-runnow';
import { RunDetailView, RunsSection } from './panel-runs';
import { SchedulesSection } from './panel-schedules';

export { PAGE_SIZE } from './panel-model';

export interface PanelCallbacks extends ModelCallbacks {
  /** Open a file (e.g. an executed notebook) in Lab. */
  openFile(path: string): void;
  /** The source of the open notebook's cell tagged `parameters`, or null. */
  parametersSource(path: string): string | null;
  /** Ask before something destructive; resolves true to go ahead. */
  confirm(title: string, body: string | React.ReactElement, action: string): Promise<boolean>;
  /** The main-area runs view's opener, or null while that command is not installed. */
  runsView(): (() => void) | null;
}

export class MlopsPanel extends ReactWidget {
  constructor(
    readonly client: MlopsClient,
    private readonly callbacks: PanelCallbacks
  ) {
    super();
    this.id = 'mlops-magic:panel';
    this.addClass('mlops-panel');
    this.title.caption = 'MLOps: lifecycle, runs and schedules of this notebook';
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', 'MLOps');
    this.model = new PanelModel(client, callbacks);
    this.model.changed.connect(() => this.update(), this);
  }

  readonly model: PanelModel;

  /** Emitted with the lifecycle view each time it changes (cell badges use it). */
  get lifecycleChanged(): ISignal<PanelModel, LifecycleView | null> {
    return this.model.lifecycleChanged;
  }

  get notebookPath(): string | null {
    return this.model.state.path;
  }

  setNotebook(path: string | null): void {
    this.model.setNotebook(path);
  }

  /** The document was renamed or moved (or a folder holding it was): follow it. */
  followRename(from: string, to: string): void {
    this.model.followRename(from, to);
  }

  /** The open document changed: its lifecycle and badges follow, debounced. */
  documentChanged(): void {
    this.model.documentChanged();
  }

  refresh(): Promise<void> {
    return this.model.refreshNow();
  }

  /** Save, then start a headless run with the form's parameters (the run-now command calls this). */
  runNow(): Promise<string | null> {
    const { params, errors } = this._runForm.params();
    return this.model.runNow(params, errors);
  }

  /** Something the view depends on outside the model changed (e.g. the runs view command appeared). */
  refreshView(): void {
    this.update();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.model.dispose();
    super.dispose();
  }

  protected onAfterShow(): void {
    this.model.setVisible(true);
    void this.model.refreshNow();
  }

  protected onAfterHide(): void {
    this.model.setVisible(false);
  }

  /** Confirm with champion vs challenger metrics, then promote or roll back; the outcome shows by the model. */
  async changeAlias(model: string, action: 'promote' | 'rollback', version?: number): Promise<void> {
    const alias = 'production';
    const at = this.model.state.path ?? undefined;
    let champion: ModelVersion | null = null;
    let challenger: ModelVersion | null = null;
    try {
      const detail = await this.client.model(model, at);
      champion = aliasVersion(detail, alias);
      const target = action === 'promote' ? (version ?? null) : rollbackTarget(detail.history, alias);
      challenger = detail.versions.find(v => v.version === target) ?? null;
    } catch (error) {
      this.model.noteModel(model, { text: messageOf(error), error: true });
      return;
    }
    const run = (): Promise<PromotionResult> =>
      action === 'promote' ? this.client.promote(model, alias, version, at) : this.client.rollback(model, alias, at);
    if (!challenger) {
      // Nothing to compare with (no earlier version): the server says why in one line.
      await this.model.changeAlias(model, run);
      return;
    }
    const ok = await this.callbacks.confirm(
      action === 'promote' ? `Promote ${model} v${challenger.version} to ${alias}?` : `Roll back ${model}@${alias}?`,
      <AliasComparison model={model} alias={alias} champion={champion} challenger={challenger} action={action} />,
      action === 'promote' ? `Promote v${challenger.version}` : `Roll back to v${challenger.version}`
    );
    if (ok) {
      await this.model.changeAlias(model, run);
    }
  }

  async removeSchedule(id: string): Promise<void> {
    const at = this.model.state.path ?? undefined;
    const ok = await this.callbacks.confirm('Remove schedule', `Remove schedule ${id.slice(0, 8)}? Its runs stay in the store.`, 'Remove');
    if (ok) {
      await this.model.scheduleAction(() => this.client.removeSchedule(id, at), 'removed', id);
      this.node.querySelector<HTMLElement>('.mlops-schedule-pause, .mlops-schedule-resume, .mlops-schedule-add-summary')?.focus();
    }
  }

  protected render(): JSX.Element {
    return <PanelView panel={this} state={this.model.state} callbacks={this.callbacks} form={this._runForm} />;
  }

  private readonly _runForm = new RunNowForm();
}

function PanelView(props: { panel: MlopsPanel; state: PanelState; callbacks: PanelCallbacks; form: RunNowForm }): JSX.Element {
  const { panel, state: s, callbacks } = props;
  const model = panel.model;
  const path = s.path;
  const root = React.useRef<HTMLDivElement>(null);
  const opened = React.useRef<string | null>(null);
  const detailId = s.detail?.id ?? null;
  React.useEffect(() => {
    // Keyboard: into a run's detail lands on "‹ All runs"; back lands on the run that was opened.
    const node = root.current;
    if (detailId) {
      node?.querySelector<HTMLElement>('.mlops-detail-back')?.focus();
    } else if (opened.current) {
      node?.querySelector<HTMLElement>(`.mlops-run-row[data-run-id="${CSS.escape(opened.current)}"]`)?.focus();
      opened.current = null;
    }
  }, [detailId]);
  const at = path ?? undefined;
  const openRunsView = callbacks.runsView();
  // The server's words: `s.info` changes with them, so a render follows when they do.
  const words = enums();
  return (
    <div className="mlops-panel-body" ref={root}>
      <header className="mlops-header">
        <h2>MLOps</h2>
        <button type="button" className="jp-Button jp-mod-minimal mlops-refresh" title="Refresh" aria-label="Refresh" onClick={() => void panel.refresh()}>
          ⟳
        </button>
      </header>
      {!path ? (
        <p className="mlops-empty">Open a notebook to see its lifecycle and runs.</p>
      ) : (
        <>
          <div className="mlops-notebook" title={path}>
            {path}
          </div>
          <StoreLine state={s} />
          {s.gone === path ? (
            <p className="mlops-error mlops-gone" role="alert">
              {`${path} no longer exists (renamed or deleted outside this Lab?); nothing polls it. Open the notebook again to follow it.`}
            </p>
          ) : (
            <>
              {s.detail ? (
                <RunDetailView
                  detail={s.detail}
                  series={s.series}
                  error={s.detailError}
                  on={{
                    back: () => void model.showRun(null),
                    openFile: p => callbacks.openFile(p),
                    artifactUrl: (runId, name) => panel.client.artifactUrl(runId, name, at),
                    reportUrl: runId => panel.client.reportUrl(runId, at)
                  }}
                />
              ) : null}
              {/* Kept mounted under a run's detail, so what is typed in the forms survives. */}
              <div className="mlops-overview" hidden={!!s.detail} key={s.generation}>
                <LifecycleSection section={s.lifecycle} kinds={words.stage_kinds} />
                <RunNowSection
                  form={props.form}
                  message={s.runMessage}
                  parametersSource={() => callbacks.parametersSource(path)}
                  run={() => void panel.runNow()}
                />
                <RunsSection
                  section={s.runs}
                  status={s.status}
                  statuses={words.run_status}
                  on={{
                    filter: status => model.setStatusFilter(status),
                    page: offset => model.page(offset),
                    open: runId => {
                      opened.current = runId;
                      void model.showRun(runId);
                    },
                    openRunsView
                  }}
                />
                <SchedulesSection
                  section={s.schedules}
                  message={s.scheduleMessage}
                  on={{
                    add: spec => model.addSchedule(spec),
                    setPaused: (id, paused) =>
                      void model.scheduleAction(() => panel.client.setPaused(id, paused, at), paused ? 'paused' : 'resumed', id),
                    remove: id => void panel.removeSchedule(id)
                  }}
                />
                <ModelsSection
                  section={s.models}
                  messages={s.modelMessages}
                  on={{
                    promote: (name, version) => void panel.changeAlias(name, 'promote', version),
                    rollback: name => void panel.changeAlias(name, 'rollback')
                  }}
                />
              </div>
            </>
          )}
        </>
      )}
    </div>
  );
}

/** Which store the panel reads: a path, a URL with the password hidden, or where the first run will create one. */
function StoreLine(props: { state: PanelState }): JSX.Element | null {
  const info = props.state.info;
  if (!info) {
    return null;
  }
  if (info.store) {
    const where = storeLabel(info);
    return (
      <div className="mlops-store" title={`store read for this notebook: ${info.store}`}>
        <span className="mlops-store-label">store </span>
        {where}
      </div>
    );
  }
  return (
    <div className="mlops-store mlops-store-none" title={info.hint ?? ''}>
      {info.hint ?? 'No store yet: the first run creates one.'}
    </div>
  );
}
