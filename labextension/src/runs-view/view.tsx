/**
 * The main-area runs view: a toolbar (status, notebook, user and free-text filters, columns, compare)
 * over the virtualized grid, polled with @lumino/polling. The model is patched in place; React
 * redraws only what changed, and an unchanged poll redraws nothing.
 */
import { Button, HTMLSelect, ReactWidget } from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';
import { Poll } from '@lumino/polling';
import * as React from 'react';

import { Grid, RowActions } from './grid';
import { Column } from './model';
import { objectivesOf } from './sweeps';
import type { RunsViewModel } from './state';

/** Poll every 5 s while the view is in sight, once a minute when the tab or the browser is hidden;
 * a failing request backs off up to a minute. */
export const FAST = { interval: 5_000, backoff: true, max: 60_000 };
export const SLOW = { interval: 60_000, backoff: true, max: 300_000 };

export interface ViewActions {
  openNotebook(path: string): void;
  reportUrl(id: string): string;
  /** `sweep`: the runs are its points, charted as its objective against each parameter. */
  compare(ids: string[], sweep?: { id: string; objectives: string[] }): void;
}

function useModel(model: RunsViewModel): void {
  const [, setTick] = React.useState(0);
  React.useEffect(() => {
    const bump = () => setTick(t => t + 1);
    model.changed.connect(bump);
    return () => {
      model.changed.disconnect(bump);
    };
  }, [model]);
}

function ColumnsMenu({ model }: { model: RunsViewModel }): JSX.Element {
  const [open, setOpen] = React.useState(false);
  const box = React.useRef<HTMLDivElement>(null);
  React.useEffect(() => {
    if (!open) {
      return;
    }
    const close = (event: Event) => {
      if (event instanceof KeyboardEvent ? event.key === 'Escape' : !box.current?.contains(event.target as Node)) {
        setOpen(false);
      }
    };
    document.addEventListener('pointerdown', close, true);
    document.addEventListener('keydown', close, true);
    return () => {
      document.removeEventListener('pointerdown', close, true);
      document.removeEventListener('keydown', close, true);
    };
  }, [open]);
  const hidden = new Set(model.config.hidden);
  const groups: [string, Column[]][] = [
    ['Run', model.allColumns.filter(c => c.group === 'run' && c.id !== 'id')],
    ['Params', model.allColumns.filter(c => c.group === 'param')],
    ['Metrics', model.allColumns.filter(c => c.group === 'metric')]
  ];
  return (
    <div className="mlops-rv-columns" ref={box}>
      <Button small minimal={false} className="mlops-rv-columns-button" aria-expanded={open} aria-haspopup="true" onClick={() => setOpen(!open)}>
        Columns{hidden.size ? ` (${hidden.size} hidden)` : ''} ▾
      </Button>
      {open ? (
        <div className="mlops-rv-columns-menu" role="group" aria-label="Columns shown">
          {groups.map(([name, cols]) =>
            cols.length ? (
              <fieldset key={name}>
                <legend>{name}</legend>
                {cols.map(c => (
                  <label key={c.id} data-column={c.id}>
                    <input type="checkbox" checked={!hidden.has(c.id)} onChange={() => model.toggleColumn(c.id)} />
                    {c.label}
                  </label>
                ))}
              </fieldset>
            ) : null
          )}
          <Button small className="mlops-rv-show-all" onClick={() => model.showAllColumns()} disabled={!hidden.size}>
            Show all
          </Button>
        </div>
      ) : null}
    </div>
  );
}

/** A toolbar select keeping the runs whose `field` is the word chosen; the first option keeps all. */
function FilterSelect(props: {
  model: RunsViewModel;
  field: 'status' | 'notebook' | 'user';
  label: string;
  title: string;
  all: string;
  words: readonly string[];
}): JSX.Element {
  const { model, field } = props;
  return (
    <HTMLSelect
      className={`mlops-rv-field mlops-rv-${field}-filter`}
      aria-label={props.label}
      title={props.title}
      value={model.filter[field]}
      onChange={e => model.setFilter({ [field]: e.currentTarget.value })}
      options={[{ value: '', label: props.all }, ...props.words.map(w => ({ value: w, label: w }))]}
    />
  );
}

function Toolbar({ model, actions, onRefresh }: { model: RunsViewModel; actions: ViewActions; onRefresh(): void }) {
  const selected = model.selected.size;
  const shown = model.view.length;
  return (
    <div className="mlops-rv-toolbar">
      <FilterSelect model={model} field="status" label="Status" title="Only runs with this status" all="all statuses"
        words={model.statuses} />
      <FilterSelect model={model} field="notebook" label="Notebook" title="Only runs of this notebook" all="all notebooks"
        words={model.notebooks} />
      <FilterSelect model={model} field="user" label="User" title="Only runs this user started" all="all users"
        words={model.users} />
      <input
        className="jp-mod-styled mlops-rv-search"
        type="search"
        placeholder="Filter: id, notebook, lr=0.1…"
        aria-label="Filter runs"
        value={model.filter.text}
        onChange={e => model.setFilter({ text: e.currentTarget.value })}
      />
      <ColumnsMenu model={model} />
      <span className="mlops-rv-count" aria-live="polite">
        {model.loaded ? `${shown.toLocaleString('en-US')} of ${model.rows.length.toLocaleString('en-US')} runs` : ''}
        {selected ? ` · ${selected} selected` : ''}
      </span>
      {selected ? (
        <Button small minimal className="mlops-rv-clear" onClick={() => model.clearSelection()}>
          Clear selection
        </Button>
      ) : null}
      <Button
        small
        className="mlops-rv-compare"
        disabled={selected < 2}
        title={selected < 2 ? 'Select two or more runs to compare them' : `Compare ${selected} runs side by side`}
        onClick={() => actions.compare(model.selectedInOrder())}
      >
        Compare{selected >= 2 ? ` ${selected}` : ''}
      </Button>
      {model.store ? (
        <span className="mlops-rv-store" title={model.store.url ? `store read: ${model.store.url}` : (model.store.hint ?? '')}>
          {model.store.label ? `store ${model.store.label}` : 'no store yet'}
        </span>
      ) : null}
      <Button small minimal className="mlops-rv-refresh" title="Refresh now" onClick={onRefresh}>
        Refresh
      </Button>
    </div>
  );
}

function Body({ model, actions, onRefresh }: { model: RunsViewModel; actions: ViewActions; onRefresh(): void }) {
  useModel(model);
  const rowActions = React.useMemo<RowActions>(
    () => ({
      openNotebook: actions.openNotebook,
      reportUrl: actions.reportUrl,
      toggle: id => model.toggleSelected(id),
      toggleFolded: id => model.toggleFolded(id),
      comparePoints: id => actions.compare(model.pointsOf(id), { id, objectives: objectivesOf(model.rows.find(r => r.id === id)) })
    }),
    [model, actions]
  );
  return (
    <div className="mlops-rv">
      <Toolbar model={model} actions={actions} onRefresh={onRefresh} />
      {model.error && model.loaded ? <div className="mlops-rv-error">Could not refresh: {model.error} (retrying)</div> : null}
      <Grid model={model} actions={rowActions} />
    </div>
  );
}

export class RunsView extends ReactWidget {
  constructor(
    readonly model: RunsViewModel,
    private readonly actions: ViewActions
  ) {
    super();
    this.addClass('mlops-runs-view');
    this.poll = new Poll({
      auto: false,
      factory: () => this.model.refresh(),
      frequency: FAST,
      name: 'mlops-magic:runs-view',
      standby: 'never'
    });
    document.addEventListener('visibilitychange', this._onVisibility);
  }

  readonly poll: Poll;

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    document.removeEventListener('visibilitychange', this._onVisibility);
    this.poll.dispose();
    super.dispose();
  }

  render(): JSX.Element {
    return <Body model={this.model} actions={this.actions} onRefresh={() => void this.poll.refresh()} />;
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    if (!this._started) {
      this._started = true;
      void this.model
        .refresh()
        .catch(() => undefined)
        .then(() => this.poll.start());
    }
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._onVisibility();
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this._onVisibility();
  }

  private _onVisibility = (): void => {
    const hidden = document.visibilityState === 'hidden' || !this.isVisible;
    const frequency = hidden ? SLOW : FAST;
    if (this.poll.frequency.interval !== frequency.interval) {
      this.poll.frequency = frequency;
      if (!hidden && this._started) {
        void this.poll.refresh(); // back in sight: fresh at once
      }
    }
  };

  private _started = false;
}
