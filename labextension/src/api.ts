/**
 * Typed client for the mlops-magic REST API v1 (labextension/openapi.yaml),
 * over ServerConnection.makeRequest so Jupyter's token and XSRF handling apply.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export const API_PREFIX = 'mlops/api/v1';

/** A run as `queries.run_record` gives it, plus `notebook_path` (openable in Lab, or null). */
export interface Run {
  id: string;
  notebook: string | null;
  notebook_path: string | null;
  name: string | null;
  trigger: string;
  status: string;
  started: string;
  ended: string | null;
  duration: number | null;
  params: Record<string, unknown>;
  metrics: Record<string, number | string>;
  tags: Record<string, string>;
  parent_run_id: string | null;
  schedule_id: string | null;
  code_version: string | null;
  error: string | null;
}

export interface RunsPage {
  runs: Run[];
  total: number;
  limit: number;
  offset: number;
  next_offset: number | null;
}

export interface StageRun {
  id: number;
  run_id: string;
  kind: string;
  name: string;
  attempt: number;
  status: string;
  started: string;
  ended: string | null;
  duration: number | null;
  error_type: string | null;
  error_message: string | null;
}

export interface Artifact {
  name: string;
  size: number;
  created: string;
  digest: string;
}

export interface MetricPoint {
  step: number;
  value: number;
  timestamp: string;
}

export interface RunDetail extends Run {
  environment: Record<string, unknown>;
  stages: StageRun[];
  metrics_latest: Record<string, { value: number | string; step: number; points: number }>;
  artifacts: Artifact[];
}

export interface MetricSeries {
  run_id: string;
  key: string;
  points: MetricPoint[];
}

/** One stage cell of the notebook with its latest attempt (status 'not run' when none). */
export interface LifecycleStage {
  kind: string;
  name: string;
  status: string;
  attempt: number;
  attempts: number;
  started: string | null;
  duration: number | null;
  error: string | null;
  warnings: string[];
  code_changed: boolean;
  cell_index: number;
  cell_id: string | null;
  form: 'magic' | 'tag';
}

export interface LifecycleView {
  path: string;
  run_id: string | null;
  stages: LifecycleStage[];
  warnings: string[];
}

export interface Info {
  version: string;
  api: string;
  store: string;
}

/** The newest drift and performance checks of a model (`monitoring.health.model_health`). */
export interface ModelHealth {
  drift: { drifted: boolean; drifted_columns: string[]; verdict: string; checked: string } | null;
  performance: {
    metric: string;
    value: number | null;
    bar: number | null;
    verdict: string;
    source: string | null;
    version: number | null;
    checked: string;
  } | null;
}

export interface ModelSummary {
  name: string;
  latest: number;
  versions: number;
  aliases: Record<string, number>;
  updated: string;
  flavour: string;
  health?: ModelHealth;
}

export interface PromotionResult {
  promoted: boolean;
  change: { model: string; alias: string; action: string; from_version: number | null; to_version: number | null; reason: string | null };
}

/** What POST run-now answers (202): the id the run will have; poll `run(id)` for its status. */
export interface RunStarted {
  id: string;
  status: 'starting';
  notebook_path: string | null;
}

/** A schedule as `scheduling.views.schedule_view` gives it, plus `notebook_path`. */
export interface Schedule {
  id: string;
  notebook: string;
  notebook_path: string | null;
  triggers: string;
  paused: boolean;
  next_due: string | null;
  cron: string | null;
  timezone: string | null;
  on_change: string[];
  after: string | null;
  on_drift: string | null;
  on_performance_drop: string | null;
  stages: string[];
  from_stage: string | null;
  params: Record<string, unknown>;
  timeout: number | null;
  retries: number;
  catchup: 'skip' | 'all';
  max_concurrency: number;
  created: string;
  last_run: { id: string; status: string; started: string } | null;
}

/** What POST schedules accepts besides the notebook; at least one trigger is required. */
export interface ScheduleSpec {
  cron?: string;
  timezone?: string;
  on_change?: string[];
  stages?: string[];
  params?: Record<string, unknown>;
  after?: string;
  on_drift?: string;
  on_performance_drop?: string;
  timeout?: number;
  retries?: number;
  catchup?: 'skip' | 'all';
  max_concurrency?: number;
}

/** An error the API answered with: its HTTP status and the message naming the fix. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly error: string | null = null
  ) {
    super(message);
  }
}

export interface RunsQuery {
  notebook?: string;
  status?: string;
  trigger?: string;
  limit?: number;
  offset?: number;
}

/** `path?k=v&…` skipping undefined/empty values. */
export function withQuery(path: string, query: Record<string, string | number | undefined>): string {
  const parts = Object.entries(query)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.length ? `${path}?${parts.join('&')}` : path;
}

export class MlopsClient {
  constructor(private readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  async request<T>(endpoint: string, init: RequestInit = {}): Promise<T> {
    const url = URLExt.join(this.settings.baseUrl, API_PREFIX, endpoint);
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, this.settings);
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
      throw new ApiError(response.status, data?.message ?? response.statusText, data?.error ?? null);
    }
    return data as T;
  }

  info(): Promise<Info> {
    return this.request<Info>('info');
  }

  runs(query: RunsQuery = {}): Promise<RunsPage> {
    return this.request<RunsPage>(withQuery('runs', { ...query }));
  }

  run(runId: string): Promise<RunDetail> {
    return this.request<RunDetail>(`runs/${encodeURIComponent(runId)}`);
  }

  stages(runId: string): Promise<{ stages: StageRun[] }> {
    return this.request(`runs/${encodeURIComponent(runId)}/stages`);
  }

  metric(runId: string, key: string): Promise<MetricSeries> {
    return this.request<MetricSeries>(`runs/${encodeURIComponent(runId)}/metrics/${encodeURIComponent(key)}`);
  }

  lifecycle(path: string): Promise<LifecycleView> {
    return this.request<LifecycleView>(withQuery('lifecycle', { path }));
  }

  runNow(path: string, params: Record<string, unknown> = {}, stages?: string[]): Promise<RunStarted> {
    return this.request<RunStarted>('run-now', {
      method: 'POST',
      body: JSON.stringify({ path, params, stages })
    });
  }

  models(): Promise<{ models: ModelSummary[] }> {
    return this.request('models');
  }

  promote(model: string, alias: string, version?: number): Promise<PromotionResult> {
    return this.request<PromotionResult>(`models/${encodeURIComponent(model)}/aliases/${encodeURIComponent(alias)}`, {
      method: 'PUT',
      body: JSON.stringify(version === undefined ? {} : { version })
    });
  }

  rollback(model: string, alias: string): Promise<PromotionResult> {
    return this.request<PromotionResult>(
      `models/${encodeURIComponent(model)}/aliases/${encodeURIComponent(alias)}/rollback`,
      { method: 'POST', body: '{}' }
    );
  }

  schedules(notebook?: string): Promise<{ schedules: Schedule[] }> {
    return this.request(withQuery('schedules', { notebook }));
  }

  addSchedule(notebook: string, spec: ScheduleSpec): Promise<Schedule> {
    return this.request<Schedule>('schedules', { method: 'POST', body: JSON.stringify({ notebook, ...spec }) });
  }

  /** Pause (true) or resume (false). */
  setPaused(scheduleId: string, paused: boolean): Promise<Schedule> {
    return this.request<Schedule>(`schedules/${encodeURIComponent(scheduleId)}`, {
      method: 'PATCH',
      body: JSON.stringify({ paused })
    });
  }

  removeSchedule(scheduleId: string): Promise<void> {
    return this.request<void>(`schedules/${encodeURIComponent(scheduleId)}`, { method: 'DELETE' });
  }

  reportUrl(runId: string): string {
    return URLExt.join(this.settings.baseUrl, API_PREFIX, `runs/${encodeURIComponent(runId)}/report`);
  }

  artifactUrl(runId: string, name: string): string {
    return URLExt.join(
      this.settings.baseUrl,
      API_PREFIX,
      `runs/${encodeURIComponent(runId)}/artifacts/${encodeURIComponent(name)}`
    );
  }
}
