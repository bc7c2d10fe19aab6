/**
 * The one client of the mlops-magic REST API v1 (the sidebar, the runs view, the rename follower
 * all use it), over ServerConnection.makeRequest so Jupyter's token and XSRF handling apply, as
 * jupyter-scheduler's `requestAPI` does. A non-2xx answer rejects with an ApiError, a
 * ServerConnection.ResponseError that keeps the HTTP status and the server's one-line message.
 * The types are generated from `openapi.yaml` (`jlpm gen:api` writes `openapi.d.ts`; `jlpm test`
 * fails when they drift), never copied by hand.
 *
 * Every call takes `at`, the API path of the notebook being looked at: the server then reads the
 * store nearest at or above that notebook's folder, the one its kernel records into.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { adoptEnums } from './enums';
import type { components } from './openapi';
import { toPythonJson } from './params';

export type { Enums } from './enums';

export const API_PREFIX = 'mlops/api/v1';

type Schemas = components['schemas'];
export type Run = Schemas['Run'];
export type RunsPage = Schemas['RunsPage'];
export type RunDetail = Schemas['RunDetail'];
export type SystemSummary = Schemas['SystemSummary'];
export type Artifact = RunDetail['artifacts'][number];
export type MetricSeries = Schemas['MetricSeries'];
export type MetricPoint = MetricSeries['points'][number];
export type LifecycleStage = Schemas['LifecycleStage'];
export type LifecycleView = Schemas['LifecycleView'];
export type InvalidCell = LifecycleView['invalid_cells'][number];
export type DocumentCell = Schemas['DocumentCell'];
export type Info = Schemas['Info'];
export type RunsTable = Schemas['RunsTable'];
export type ModelHealth = Schemas['ModelHealth'];
export type ModelSummary = Schemas['ModelSummary'];
export type ModelDetail = Schemas['ModelDetail'];
export type ModelVersion = Schemas['ModelVersion'];
export type AliasChange = Schemas['AliasChange'];
export type PromotionResult = Schemas['PromotionResult'];
export type Schedule = Schemas['Schedule'];
type Ops = import('./openapi').paths;
export type RunStarted = Ops['/run-now']['post']['responses']['202']['content']['application/json'];
export type RenameResult = Ops['/notebooks/rename']['post']['responses']['200']['content']['application/json'];
/** What POST schedules accepts besides the notebook; at least one trigger is required. */
export type ScheduleSpec = Omit<
  NonNullable<Ops['/schedules']['post']['requestBody']>['content']['application/json'],
  'notebook'
>;

/** An error the API answered with: JupyterLab's ResponseError, with the HTTP status at hand and
 * the server's mlops error type (`NotFoundError`, …) when it named one. */
export class ApiError extends ServerConnection.ResponseError {
  constructor(
    response: Response,
    message?: string,
    readonly error: string | null = null,
    traceback?: string
  ) {
    super(response, message, traceback);
  }

  get status(): number {
    return this.response.status;
  }
}

/** The API path of the notebook whose store to read; none: the server root's store. */
export type At = string | null | undefined;

export interface RunsQuery {
  notebook?: string;
  status?: string;
  trigger?: string;
  limit?: number;
  offset?: number;
  at?: string;
}

/** `path?k=v&…` (URLExt's query string) without the undefined, null and empty values. */
export function withQuery(path: string, query: Record<string, string | number | undefined | null>): string {
  const given = Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== '');
  return path + URLExt.objectToQueryString(Object.fromEntries(given) as Record<string, string | number>);
}

const enc = encodeURIComponent;

export class MlopsClient {
  constructor(private readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  /** The full URL of an endpoint (links the browser opens itself: reports, artifacts). */
  url(endpoint: string): string {
    return URLExt.join(this.settings.baseUrl, API_PREFIX, endpoint);
  }

  async request<T>(endpoint: string, init: RequestInit = {}): Promise<T> {
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(this.url(endpoint), init, this.settings);
    } catch (error) {
      throw new ServerConnection.NetworkError(error as TypeError);
    }
    const text = await response.text();
    let data: any = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = { message: text };
      }
    }
    if (!response.ok) {
      // Without a message of the server's, ResponseError says `Invalid response: 502 Bad Gateway`.
      throw new ApiError(response, data?.message || undefined, data?.error ?? null, data?.traceback);
    }
    return data as T;
  }

  private post<T>(endpoint: string, body: unknown, method = 'POST'): Promise<T> {
    return this.request<T>(endpoint, { method, body: toPythonJson(body) });
  }

  /** Which store `at` reads; the answer's enums become the lab's words (enums.ts). */
  async info(at?: At): Promise<Info> {
    const info = await this.request<Info>(withQuery('info', { at }));
    adoptEnums(info.enums);
    return info;
  }

  /** Every run as columns (the runs view); with `since`, `{unchanged: true}` when nothing changed. */
  runsTable(since: string | null, at?: At): Promise<RunsTable> {
    return this.request<RunsTable>(withQuery('runs-table', { since, at }));
  }

  runs(query: RunsQuery = {}): Promise<RunsPage> {
    return this.request<RunsPage>(withQuery('runs', { ...query }));
  }

  run(runId: string, at?: At): Promise<RunDetail> {
    return this.request<RunDetail>(withQuery(`runs/${enc(runId)}`, { at }));
  }

  metric(runId: string, key: string, at?: At): Promise<MetricSeries> {
    return this.request<MetricSeries>(withQuery(`runs/${enc(runId)}/metrics/${enc(key)}`, { at }));
  }

  /** The lifecycle of the notebook file on disk. */
  lifecycle(path: string): Promise<LifecycleView> {
    return this.request<LifecycleView>(withQuery('lifecycle', { path, at: path }));
  }

  /** The lifecycle of the open document: its cells as the editor holds them, saved or not. */
  documentLifecycle(path: string, cells: DocumentCell[]): Promise<LifecycleView> {
    return this.post<LifecycleView>(withQuery('lifecycle', { at: path }), { path, cells });
  }

  /** Record a rename (a notebook or a folder): runs and schedules follow the new name. */
  renameNotebook(from: string, to: string): Promise<RenameResult> {
    return this.post<RenameResult>(withQuery('notebooks/rename', { at: to }), { from, to });
  }

  runNow(path: string, params: Record<string, unknown> = {}, stages?: string[]): Promise<RunStarted> {
    return this.post<RunStarted>(withQuery('run-now', { at: path }), { path, params, stages });
  }

  models(at?: At): Promise<{ models: ModelSummary[] }> {
    return this.request(withQuery('models', { at }));
  }

  model(name: string, at?: At): Promise<ModelDetail> {
    return this.request<ModelDetail>(withQuery(`models/${enc(name)}`, { at }));
  }

  promote(model: string, alias: string, version?: number, at?: At): Promise<PromotionResult> {
    return this.post<PromotionResult>(
      withQuery(`models/${enc(model)}/aliases/${enc(alias)}`, { at }),
      version === undefined ? {} : { version },
      'PUT'
    );
  }

  rollback(model: string, alias: string, at?: At): Promise<PromotionResult> {
    return this.post<PromotionResult>(withQuery(`models/${enc(model)}/aliases/${enc(alias)}/rollback`, { at }), {});
  }

  schedules(notebook?: string, at: string | undefined = notebook): Promise<{ schedules: Schedule[] }> {
    return this.request(withQuery('schedules', { notebook, at }));
  }

  addSchedule(notebook: string, spec: ScheduleSpec): Promise<Schedule> {
    return this.post<Schedule>(withQuery('schedules', { at: notebook }), { notebook, ...spec });
  }

  /** Pause (true) or resume (false). */
  setPaused(scheduleId: string, paused: boolean, at?: At): Promise<Schedule> {
    return this.post<Schedule>(withQuery(`schedules/${enc(scheduleId)}`, { at }), { paused }, 'PATCH');
  }

  removeSchedule(scheduleId: string, at?: At): Promise<void> {
    return this.request<void>(withQuery(`schedules/${enc(scheduleId)}`, { at }), { method: 'DELETE' });
  }

  reportUrl(runId: string, at?: At): string {
    return this.url(withQuery(`runs/${enc(runId)}/report`, { at }));
  }

  artifactUrl(runId: string, name: string, at?: At): string {
    return this.url(withQuery(`runs/${enc(runId)}/artifacts/${enc(name)}`, { at }));
  }
}
