/**
 * The sidebar's state and what changes it: fetches (each section on its own, so one failing
 * never blanks the others), a `@lumino/polling` Poll (fast while a run is queued or running,
 * backing off on errors, standing by while the browser tab is hidden), and the actions.
 *
 * The state is immutable and replaced only when an answer differs from what is shown, and
 * `changed` is emitted only then: a poll that brings the same data renders nothing.
 */
import { Debouncer, Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import {
  ApiError,
  DocumentCell,
  Info,
  LifecycleView,
  MetricPoint,
  MlopsClient,
  ModelSummary,
  PromotionResult,
  RunDetail,
  RunsPage,
  Schedule,
  ScheduleSpec
} from './api';
import { isActive, promotionMessage, renamedPath, sameJson } from './panel-logic';

export const PAGE_SIZE = 20;
export const POLL_MS = 5000;
export const FAST_POLL_MS = 1500;
const MAX_BACKOFF_MS = 60_000;
const DOCUMENT_DEBOUNCE_MS = 500;

export interface Section<T> {
  data: T | null;
  error: string | null;
}

export interface Note {
  text: string;
  error: boolean;
}

export interface PanelState {
  path: string | null;
  /** Counts notebook switches (not renames): forms start over for another notebook. */
  generation: number;
  /** The path whose lifecycle answered 404: the file is gone, nothing polls it any more. */
  gone: string | null;
  /** The last `info` answer: which store is read (its enums are adopted by the client, enums.ts). */
  info: Info | null;
  lifecycle: Section<LifecycleView>;
  runs: Section<RunsPage>;
  models: Section<ModelSummary[]>;
  schedules: Section<Schedule[]>;
  detail: RunDetail | null;
  detailError: string | null;
  series: Record<string, MetricPoint[]>;
  status: string;
  offset: number;
  runMessage: Note | null;
  scheduleMessage: Note | null;
  /** The result of the last promote or rollback, by model name (shown next to the model). */
  modelMessages: Record<string, Note>;
}

const EMPTY: Section<never> = { data: null, error: null };

function initial(path: string | null, generation = 0): PanelState {
  return {
    path,
    generation,
    gone: null,
    info: null,
    lifecycle: EMPTY,
    runs: EMPTY,
    models: EMPTY,
    schedules: EMPTY,
    detail: null,
    detailError: null,
    series: {},
    status: '',
    offset: 0,
    runMessage: null,
    scheduleMessage: null,
    modelMessages: {}
  };
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export interface ModelCallbacks {
  /** The open document's cells (null when `path` is not open): the lifecycle reads these, saved or not. */
  documentCells(path: string): DocumentCell[] | null;
  /** Save the notebook before a headless run or a schedule reads it from disk. */
  saveNotebook(path: string): Promise<void>;
}

export class PanelModel {
  constructor(
    readonly client: MlopsClient,
    private readonly callbacks: ModelCallbacks
  ) {
    this._poll = new Poll({
      auto: false,
      factory: () => this.refresh(),
      frequency: { interval: POLL_MS, backoff: true, max: MAX_BACKOFF_MS },
      standby: 'when-hidden',
      name: 'mlops-magic:panel'
    });
    this._documentDebouncer = new Debouncer(() => this.refreshLifecycle(), DOCUMENT_DEBOUNCE_MS);
  }

  get state(): PanelState {
    return this._state;
  }

  /** Emitted once per state change (never for an answer equal to what is shown). */
  get changed(): ISignal<this, PanelState> {
    return this._changed;
  }

  /** Emitted with the lifecycle view when it changes (the cell badges use it). */
  get lifecycleChanged(): ISignal<this, LifecycleView | null> {
    return this._lifecycleChanged;
  }

  /** The number of fetch rounds done: tests and benchmarks count polls with it. */
  get polls(): number {
    return this._polls;
  }

  get poll(): Poll {
    return this._poll;
  }

  /** Whether the sidebar shows: hidden, only the lifecycle (for the badges) is fetched. */
  setVisible(visible: boolean): void {
    this._visible = visible;
  }

  /** Follow another notebook (or none): start over. */
  setNotebook(path: string | null): void {
    if (path === this._state.path) {
      return;
    }
    this.replace(initial(path, this._state.generation + 1));
    this._lifecycleChanged.emit(null);
    if (path) {
      void this._poll.start();
      void this._poll.refresh();
    } else {
      void this._poll.stop();
    }
  }

  /**
   * The document moved (renamed, or its folder was): keep everything shown, fetch under the
   * new path. A later poll of the old path would 404; none is made.
   */
  followRename(from: string, to: string): void {
    const next = this._state.path ? renamedPath(this._state.path, from, to) : null;
    if (!next || next === this._state.path) {
      return;
    }
    this.set({ path: next, gone: null });
    void this._poll.start();
    void this._poll.refresh();
  }

  /** The open document changed (typing, tags, cells added): its lifecycle, debounced. */
  documentChanged(): void {
    void this._documentDebouncer.invoke();
  }

  dispose(): void {
    this._poll.dispose();
    this._documentDebouncer.dispose();
    Signal.clearData(this);
  }

  // -- fetching ---------------------------------------------------------------------------------
  /**
   * Fetch every section (only the lifecycle while the sidebar is hidden). Rejects when something
   * failed, so the Poll backs off; each section keeps its own error and the others still show.
   */
  refresh(): Promise<void> {
    if (this._inflight) {
      this._again = true;
      return this._inflight;
    }
    this._inflight = this.fetchAll().finally(() => {
      this._inflight = null;
      if (this._again) {
        this._again = false;
        void this.refresh();
      }
    });
    return this._inflight;
  }

  private async fetchAll(): Promise<void> {
    const path = this._state.path;
    if (!path || this._state.gone === path) {
      return;
    }
    this._polls++;
    const c = this.client;
    const s = this._state;
    const visible = this._visible;
    const tasks: [Promise<unknown>, ...Promise<unknown>[]] = [this.fetchLifecycle(path)];
    if (visible) {
      tasks.push(
        c.info(path),
        c.runs({ notebook: path, at: path, status: s.status || undefined, limit: PAGE_SIZE, offset: s.offset }),
        c.models(path),
        c.schedules(path)
      );
    }
    const [lifecycle, info, runs, models, schedules] = await Promise.allSettled(tasks);
    if (path !== this._state.path) {
      return; // another notebook meanwhile (a rename keeps what was fetched: same notebook)
    }
    const patch: Partial<PanelState> = {};
    const failures: string[] = [];
    const section = <T>(result: PromiseSettledResult<unknown> | undefined, pick: (v: any) => T): Section<T> | undefined => {
      if (!result) {
        return undefined;
      }
      if (result.status === 'fulfilled') {
        return { data: pick(result.value), error: null };
      }
      failures.push(messageOf(result.reason));
      return { data: null, error: messageOf(result.reason) };
    };
    if (lifecycle.status === 'rejected' && this.goneIf(path, lifecycle.reason)) {
      return;
    }
    const lc = section(lifecycle, v => v as LifecycleView);
    if (lc) {
      // A failed refetch keeps the last view (badges and rows stay) with the error beside it.
      patch.lifecycle = lc.error ? { data: this._state.lifecycle.data, error: lc.error } : lc;
    }
    if (info?.status === 'fulfilled') {
      patch.info = info.value as Info;
    }
    const keep = <T>(next: Section<T> | undefined, old: Section<T>): Section<T> | undefined =>
      next && next.error ? { data: old.data, error: next.error } : next;
    patch.runs = keep(section(runs, v => v as RunsPage), this._state.runs);
    patch.models = keep(section(models, v => (v as { models: ModelSummary[] }).models), this._state.models);
    patch.schedules = keep(section(schedules, v => (v as { schedules: Schedule[] }).schedules), this._state.schedules);
    for (const key of Object.keys(patch) as (keyof PanelState)[]) {
      if (patch[key] === undefined) {
        delete patch[key];
      }
    }
    if (visible && this._state.detail) {
      try {
        const detail = await c.run(this._state.detail.id, path);
        if (this._state.detail?.id === detail.id) {
          patch.detail = detail;
        }
      } catch (error) {
        patch.detailError = messageOf(error);
      }
    }
    const before = this._state.lifecycle.data;
    this.set(patch);
    if (!sameJson(before, this._state.lifecycle.data) || this._lifecycleFresh) {
      this._lifecycleFresh = false;
      this._lifecycleChanged.emit(this._state.lifecycle.data);
    }
    this.adjustFrequency();
    if (failures.length) {
      throw new Error(failures[0]);
    }
  }

  /** The lifecycle of the open document (POST with its cells), or of the file when it is not open. */
  private async fetchLifecycle(path: string): Promise<LifecycleView> {
    const cells = this.callbacks.documentCells(path);
    return cells ? this.client.documentLifecycle(path, cells) : this.client.lifecycle(path);
  }

  private async refreshLifecycle(): Promise<void> {
    const path = this._state.path;
    if (!path || this._state.gone === path) {
      return;
    }
    if (this._inflight) {
      this._again = true; // a round is under way: one more after it reads the document as it is now
      return;
    }
    try {
      const view = await this.fetchLifecycle(path);
      if (path === this._state.path) {
        const before = this._state.lifecycle.data;
        this.set({ lifecycle: { data: view, error: null } });
        if (!sameJson(before, view)) {
          this._lifecycleChanged.emit(view);
        }
      }
    } catch (error) {
      if (path === this._state.path && !this.goneIf(path, error)) {
        this.set({ lifecycle: { data: this._state.lifecycle.data, error: messageOf(error) } });
      }
    }
  }

  /**
   * A 404 from the lifecycle: the notebook file is gone (deleted, or renamed outside this Lab).
   * Stop polling it and say so once; a rename seen by Lab, or opening it again, starts over.
   */
  private goneIf(path: string, error: unknown): boolean {
    if (!(error instanceof ApiError && error.status === 404) || path !== this._state.path) {
      return false;
    }
    this.set({ gone: path, lifecycle: { data: null, error: error.message } });
    void this._poll.stop();
    this._lifecycleChanged.emit(null);
    return true;
  }

  /** Poll every 1.5 s while a run is queued or running, else every 5 s. */
  private adjustFrequency(): void {
    const s = this._state;
    const running =
      (s.runs.data?.runs ?? []).some(r => isActive(r.status)) ||
      isActive(s.detail?.status) ||
      (s.lifecycle.data?.stages ?? []).some(st => st.status === 'running');
    this._poll.frequency = { interval: running ? FAST_POLL_MS : POLL_MS, backoff: true, max: MAX_BACKOFF_MS };
  }

  // -- state ------------------------------------------------------------------------------------
  /** Merge `patch`, keeping the old object for every key whose value is the same JSON. */
  private set(patch: Partial<PanelState>): void {
    const next = { ...this._state };
    let changed = false;
    for (const [key, value] of Object.entries(patch) as [keyof PanelState, unknown][]) {
      if (!sameJson(this._state[key], value)) {
        (next as any)[key] = value;
        changed = true;
      }
    }
    if (changed) {
      this._state = next;
      this._changed.emit(next);
    }
  }

  private replace(state: PanelState): void {
    this._state = state;
    this._lifecycleFresh = true;
    this._changed.emit(state);
  }

  // -- actions ----------------------------------------------------------------------------------
  /** A refresh whose failure is already shown in its section (no unhandled rejection). */
  refreshNow(): Promise<void> {
    return this.refresh().catch(() => undefined);
  }

  setStatusFilter(status: string): void {
    this.set({ status, offset: 0 });
    void this.refreshNow();
  }

  page(offset: number): void {
    this.set({ offset: Math.max(0, offset) });
    void this.refreshNow();
  }

  async runNow(params: Record<string, unknown>, paramErrors: string[] = []): Promise<string | null> {
    const path = this._state.path;
    if (!path) {
      return null;
    }
    if (paramErrors.length) {
      this.set({ runMessage: { text: `Parameters: ${paramErrors[0]}`, error: true } });
      return null;
    }
    this.set({ runMessage: { text: 'Starting a headless run…', error: false } });
    let id: string | null = null;
    try {
      await this.callbacks.saveNotebook(path);
      const run = await this.client.runNow(path, params);
      id = run.id;
      const names = Object.keys(params);
      this.set({
        runMessage: { text: `Run ${run.id.slice(0, 8)} started${names.length ? ` with ${names.join(', ')}` : ''}.`, error: false },
        offset: 0
      });
    } catch (error) {
      this.set({ runMessage: { text: `Could not start the run: ${messageOf(error)}`, error: true } });
    }
    await this.refreshNow();
    return id;
  }

  /** A line next to a model (e.g. why its detail could not be read). */
  noteModel(model: string, note: Note): void {
    this.set({ modelMessages: { ...this._state.modelMessages, [model]: note } });
  }

  /** Run a promote or a rollback; its outcome is shown next to that model. */
  async changeAlias(model: string, what: () => Promise<PromotionResult>): Promise<void> {
    let note: Note;
    try {
      note = promotionMessage(await what());
    } catch (error) {
      note = { text: messageOf(error), error: true };
    }
    this.set({ modelMessages: { ...this._state.modelMessages, [model]: note } });
    await this.refreshNow();
  }

  async addSchedule(spec: ScheduleSpec): Promise<boolean> {
    const path = this._state.path;
    if (!path) {
      return false;
    }
    try {
      await this.callbacks.saveNotebook(path); // the server checks the stages against the saved file
      const made = await this.client.addSchedule(path, spec);
      this.set({ scheduleMessage: { text: `Schedule ${made.id.slice(0, 8)} added: ${made.triggers}.`, error: false } });
      await this.refreshNow();
      return true;
    } catch (error) {
      this.set({ scheduleMessage: { text: messageOf(error), error: true } });
      return false;
    }
  }

  async scheduleAction(what: () => Promise<unknown>, done: string, id: string): Promise<void> {
    try {
      await what();
      this.set({ scheduleMessage: { text: `Schedule ${id.slice(0, 8)} ${done}.`, error: false } });
    } catch (error) {
      this.set({ scheduleMessage: { text: messageOf(error), error: true } });
    }
    await this.refreshNow();
  }

  async showRun(runId: string | null): Promise<void> {
    const at = this._state.path ?? undefined;
    if (!runId) {
      this.set({ detail: null, detailError: null, series: {} });
      return;
    }
    try {
      const detail = await this.client.run(runId, at);
      // Curves for the first few metrics logged at more than one step.
      const keys = Object.entries(detail.metrics_latest)
        .filter(([, m]) => m.points > 1)
        .slice(0, 6)
        .map(([k]) => k);
      const series: Record<string, MetricPoint[]> = {};
      for (const s of await Promise.all(keys.map(k => this.client.metric(runId, k, at)))) {
        series[s.key] = s.points;
      }
      this.set({ detail, series, detailError: null });
    } catch (error) {
      this.set({ detailError: messageOf(error) });
    }
  }

  private _state: PanelState = initial(null);
  private _changed = new Signal<this, PanelState>(this);
  private _lifecycleChanged = new Signal<this, LifecycleView | null>(this);
  private _poll: Poll;
  private _documentDebouncer: Debouncer;
  private _inflight: Promise<void> | null = null;
  private _again = false;
  private _visible = false;
  private _polls = 0;
  private _lifecycleFresh = false;
}
