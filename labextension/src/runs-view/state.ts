/**
 * What the runs view shows, held outside React so a poll can patch it: rows, filter, sort,
 * hidden columns, selection. It signals `changed` only when something a person would see
 * changed, so a poll that brings nothing new costs no render and no DOM write.
 */
import { ISignal, Signal } from '@lumino/signaling';

import type { At, MlopsClient } from '../api';
import { enums } from '../enums';
import { storeLabel } from '../format';

import {
  Column,
  columnsFor,
  DEFAULT_SORT,
  Filter,
  filterIndex,
  NO_FILTER,
  decodeTable,
  patchRows,
  RUN_COLUMNS,
  RunRow,
  searchText,
  sortIndex,
  SortSpec,
  toggleColumn,
  toggled,
  ViewConfig,
  visibleColumns
} from './model';
import { DisplayRow, groupSweeps, pointsOf } from './sweeps';

export class RunsViewModel {
  /**
   * `at`: the API path of a notebook whose store to read (the server finds the nearest `.mlops/`
   * at or above its folder, as its kernel does); null reads the server root's store.
   */
  constructor(
    readonly client: MlopsClient,
    readonly at: At,
    config: ViewConfig = { hidden: [], sort: { ...DEFAULT_SORT } }
  ) {
    this._config = config;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The view config changed (sort, hidden columns): worth saving. */
  get configChanged(): ISignal<this, ViewConfig> {
    return this._configChanged;
  }

  rows: RunRow[] = [];
  notebooks: string[] = [];
  /** who started the runs held, for the user filter */
  users: string[] = [];
  filter: Filter = NO_FILTER;
  selected: ReadonlySet<string> = new Set();
  /** The sweeps folded to their one row (their points hidden). */
  folded: ReadonlySet<string> = new Set();
  /** Seconds since the epoch when the rows last changed (durations of running runs count to it). */
  now = Date.now() / 1000;
  loaded = false;
  error: string | null = null;
  /** The store read: its label and full URL (null until known; label null when there is none yet). */
  store: { label: string | null; url: string | null; hint: string | null } | null = null;
  /** How many polls brought a change, and how many brought nothing (the benchmark reads these). */
  readonly stats = { polls: 0, changes: 0 };

  /** The run statuses to filter by: the server's words (`info` answers before the first table). */
  get statuses(): readonly string[] {
    return enums().run_status;
  }

  get config(): ViewConfig {
    return this._config;
  }

  get sort(): SortSpec {
    return this._config.sort;
  }

  /** Every column the runs in view offer (a param or metric none of them has is no column). */
  get allColumns(): Column[] {
    this._compute();
    return this._allColumns;
  }

  /** The columns shown. */
  get columns(): Column[] {
    this._compute();
    if (!this._columns) {
      this._columns = visibleColumns(this._allColumns, this._config.hidden);
    }
    return this._columns;
  }

  /** Indices into `rows`, filtered then sorted. */
  get view(): number[] {
    return this._compute();
  }

  /** The grid's lines: the view with each sweep's points under their sweep (unless it is folded). */
  get display(): DisplayRow[] {
    const view = this._compute();
    if (!this._display) {
      this._display = groupSweeps(this.rows, view, this.folded);
    }
    return this._display;
  }

  /** The ids of a sweep's points in view, in the view's order. */
  pointsOf(sweepId: string): string[] {
    return pointsOf(this.rows, this.view, sweepId);
  }

  /** Fold a sweep to its one row, or unfold it. */
  toggleFolded(id: string): void {
    this.folded = toggled(this.folded, id);
    this._display = null;
    this._changed.emit();
  }

  private _compute(): number[] {
    if (!this._view) {
      const kept = filterIndex(this.rows, this.filter, row => this._haystack(row));
      const columns = columnsFor(kept.map(i => this.rows[i]));
      if (columns.map(c => c.id).join('\n') !== this._allColumns.map(c => c.id).join('\n')) {
        this._allColumns = columns; // a new identity only when the set changed: rows stay memoized
        this._columns = null;
      }
      this._view = sortIndex(this.rows, kept, this._config.sort, this.now);
      this._display = null;
    }
    return this._view;
  }

  /** Fetch the table; when the server says nothing changed, do nothing at all. */
  async refresh(): Promise<void> {
    let table;
    try {
      if (this.store === null) {
        const info = await this.client.info(this.at);
        this.store = { label: storeLabel(info), url: info.store, hint: info.hint };
      }
      table = await this.client.runsTable(this._version, this.at);
    } catch (error) {
      const message = (error as Error).message || String(error);
      if (message !== this.error) {
        this.error = message;
        this._changed.emit();
      }
      throw error; // the Poll backs off
    }
    this.stats.polls++;
    if (table.unchanged && this.loaded) {
      if (this.error) {
        this.error = null;
        this._changed.emit();
      }
      return;
    }
    this._version = table.version;
    const patch = patchRows(this.rows, decodeTable(table));
    const wasLoaded = this.loaded;
    this.loaded = true;
    const errorCleared = this.error !== null;
    this.error = null;
    if (wasLoaded && !errorCleared && !patch.added && !patch.changed && !patch.removed) {
      return;
    }
    this.stats.changes++;
    this.rows = patch.rows;
    this.now = Date.now() / 1000;
    this.notebooks = (table.notebooks ?? []).filter((n): n is string => !!n).sort();
    this.users = [...new Set(this.rows.map(r => r.user).filter((u): u is string => !!u))].sort();
    this._view = null;
    this._changed.emit();
  }

  setFilter(filter: Partial<Filter>): void {
    this.filter = { ...this.filter, ...filter };
    this._view = null;
    this._changed.emit();
  }

  setSort(sort: SortSpec): void {
    this._setConfig({ ...this._config, sort });
    this._view = null;
    this._changed.emit();
  }

  toggleColumn(id: string): void {
    this._setConfig({ ...this._config, hidden: toggleColumn(this._config.hidden, id) });
    this._columns = null;
    this._changed.emit();
  }

  showAllColumns(): void {
    this._setConfig({ ...this._config, hidden: [] });
    this._columns = null;
    this._changed.emit();
  }

  toggleSelected(id: string): void {
    this.selected = toggled(this.selected, id);
    this._changed.emit();
  }

  clearSelection(): void {
    if (this.selected.size) {
      this.selected = new Set();
      this._changed.emit();
    }
  }

  /** The selected runs in the order shown (those filtered away last). */
  selectedInOrder(): string[] {
    const shown = this.view.map(i => this.rows[i].id).filter(id => this.selected.has(id));
    const rest = [...this.selected].filter(id => !shown.includes(id));
    return [...shown, ...rest];
  }

  private _setConfig(config: ViewConfig): void {
    this._config = config;
    this._configChanged.emit(config);
  }

  private _haystack(row: RunRow): string {
    let text = this._search.get(row);
    if (text === undefined) {
      text = searchText(row);
      this._search.set(row, text);
    }
    return text;
  }

  private _config: ViewConfig;
  private _version: string | null = null;
  private _view: number[] | null = null;
  private _display: DisplayRow[] | null = null;
  private _columns: Column[] | null = null;
  private _allColumns: Column[] = RUN_COLUMNS;
  private _search = new WeakMap<RunRow, string>();
  private _changed = new Signal<this, void>(this);
  private _configChanged = new Signal<this, ViewConfig>(this);
}
