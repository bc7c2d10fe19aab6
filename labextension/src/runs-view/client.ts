/**
 * The few reads the runs view makes, over ServerConnection.makeRequest (Jupyter's token and
 * XSRF handling apply). Any object with `request(endpoint)` will do as the transport: the
 * sidebar's `MlopsClient` fits, and so does the small one here.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import type { components } from '../openapi';
import type { RunDetail, RunsTable } from './model';

export type MetricSeries = components['schemas']['MetricSeries'];

const PREFIX = 'mlops/api/v1';

/** What the view needs from a transport. */
export interface Requester {
  request<T>(endpoint: string, init?: RequestInit): Promise<T>;
}

/** `path?k=v&…` without the empty values. */
export function query(path: string, args: Record<string, string | number | undefined | null>): string {
  const parts = Object.entries(args)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.length ? `${path}?${parts.join('&')}` : path;
}

/** A JSON request under the API prefix; a non-2xx answer rejects with the server's one-line message. */
export class Fetcher implements Requester {
  constructor(readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  async request<T>(endpoint: string, init: RequestInit = {}): Promise<T> {
    const url = URLExt.join(this.settings.baseUrl, PREFIX, endpoint);
    const response = await ServerConnection.makeRequest(url, init, this.settings);
    const text = await response.text();
    let body: any = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = { message: text };
    }
    if (!response.ok) {
      throw new Error(body?.message ?? `${response.status} ${response.statusText}`);
    }
    return body as T;
  }
}

export class RunsViewApi {
  /**
   * `at`: the API path of a notebook whose store to read (the server finds the nearest `.mlops/`
   * at or above its folder, as its kernel does); null reads the server root's store.
   */
  constructor(
    private readonly transport: Requester = new Fetcher(),
    readonly at: string | null = null,
    private readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

  /** Which store `at` reads (the toolbar names it). */
  info(): Promise<components['schemas']['Info']> {
    return this.transport.request<components['schemas']['Info']>(query('info', { at: this.at }));
  }

  /** Every run as columns; with `since`, `{unchanged: true}` when nothing changed. */
  table(since: string | null): Promise<RunsTable> {
    return this.transport.request<RunsTable>(query('runs-table', { since, at: this.at }));
  }

  run(id: string): Promise<RunDetail> {
    return this.transport.request<RunDetail>(query(`runs/${encodeURIComponent(id)}`, { at: this.at }));
  }

  metric(id: string, key: string): Promise<MetricSeries> {
    return this.transport.request<MetricSeries>(
      query(`runs/${encodeURIComponent(id)}/metrics/${encodeURIComponent(key)}`, { at: this.at })
    );
  }

  reportUrl(id: string): string {
    return URLExt.join(this.settings.baseUrl, PREFIX, query(`runs/${encodeURIComponent(id)}/report`, { at: this.at }));
  }

  artifactUrl(id: string, name: string): string {
    return URLExt.join(
      this.settings.baseUrl,
      PREFIX,
      query(`runs/${encodeURIComponent(id)}/artifacts/${encodeURIComponent(name)}`, { at: this.at })
    );
  }
}
