/**
 * The runs table: a virtualized grid (only the rows in sight are in the DOM, so 10,000 runs
 * cost what 40 do), sortable headers, a checkbox per run for compare, report and notebook links,
 * each sweep's points indented under it with a toggle to fold them, and its point count (in the trigger
 * column, always in sight) a link comparing them.
 * Rows are memoized on the run object: a poll that changed one run redraws that row only.
 */
import { caretDownIcon, caretRightIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { Column, emptyMessage, formatCell, isFiltered, nextSort, NO_FILTER, RunRow, SortSpec } from './model';
import type { RunsViewModel } from './state';
import { isSweep } from './sweeps';

export const ROW_HEIGHT = 28;
const OVERSCAN = 8;
const CHECK_WIDTH = 36;
const ACTIONS_WIDTH = 240;

export interface RowActions {
  openNotebook(path: string): void;
  reportUrl(id: string): string;
  toggle(id: string): void;
  /** Fold a sweep to its one row, or unfold it. */
  toggleFolded(id: string): void;
  /** Open the compare view on a sweep's points. */
  comparePoints(id: string): void;
}

const ARIA_SORT = { asc: 'ascending', desc: 'descending' } as const;

/** What a column's cells and its header share: the class of its kind and its id. */
function columnAttrs(c: Column): { className: string; 'data-column': string } {
  return { className: `mlops-rv-cell mlops-rv-${c.kind}`, 'data-column': c.id };
}

function template(columns: readonly Column[]): string {
  return [`${CHECK_WIDTH}px`, ...columns.map(c => `${c.width}px`), `${ACTIONS_WIDTH}px`].join(' ');
}

interface RowProps {
  row: RunRow;
  columns: readonly Column[];
  selected: boolean;
  now: number;
  index: number;
  actions: RowActions;
  /** 1 for a sweep's point listed under its sweep */
  depth: number;
  /** a sweep's points in view (0 for any other run) */
  points: number;
  folded: boolean;
}

/** The run id cell: a sweep's fold toggle (JupyterLab's carets) before its id, a point indented under it. */
function IdCell({ row, depth, points, folded, actions }: Pick<RowProps, 'row' | 'depth' | 'points' | 'folded' | 'actions'>) {
  const id = row.id.slice(0, 8);
  if (isSweep(row) && points) {
    const Icon = folded ? caretRightIcon : caretDownIcon;
    return (
      <>
        <button
          className="mlops-rv-fold"
          aria-expanded={!folded}
          aria-label={`${folded ? 'Show' : 'Hide'} the ${points} points of sweep ${id}`}
          title={`${folded ? 'Show' : 'Hide'} its ${points} points`}
          onClick={() => actions.toggleFolded(row.id)}
        >
          <Icon.react tag="span" elementSize="normal" />
        </button>
        {id}
      </>
    );
  }
  return depth ? (
    <>
      <span className="mlops-rv-branch" aria-hidden="true">
        └
      </span>
      {id}
    </>
  ) : (
    <>{id}</>
  );
}

const Row = React.memo(function Row({ row, columns, selected, now, index, actions, depth, points, folded }: RowProps) {
  const onClick = (event: React.MouseEvent) => {
    if ((event.target as HTMLElement).closest('a, button, input')) {
      return;
    }
    actions.toggle(row.id);
  };
  return (
    <div
      className={`mlops-rv-row${selected ? ' mlops-rv-selected' : ''}${points ? ' mlops-rv-sweep' : ''}${depth ? ' mlops-rv-point' : ''}`}
      role="row"
      aria-rowindex={index + 2}
      aria-selected={selected}
      data-run-id={row.id}
      data-status={row.status}
      data-sweep={depth ? (row.parent ?? undefined) : undefined}
      onClick={onClick}
    >
      <div role="gridcell" className="mlops-rv-cell mlops-rv-check">
        <input
          type="checkbox"
          checked={selected}
          aria-label={`Select run ${row.id.slice(0, 8)}`}
          onChange={() => actions.toggle(row.id)}
        />
      </div>
      {columns.map(c => {
        if (c.id === 'id') {
          return (
            <div key={c.id} role="gridcell" {...columnAttrs(c)} title={depth && row.parent ? `${row.id}, a point of sweep ${row.parent}` : row.id}>
              <IdCell row={row} depth={depth} points={points} folded={folded} actions={actions} />
            </div>
          );
        }
        const text = formatCell(row, c, now);
        if (c.id === 'trigger' && points) {
          const count = `${points} point${points === 1 ? '' : 's'}`;
          return (
            <div key={c.id} role="gridcell" {...columnAttrs(c)} title={`${text} · ${count}`}>
              {`${text} · `}
              <button
                className="mlops-rv-link mlops-rv-compare-points"
                disabled={points < 2}
                title={points < 2 ? 'One point: nothing to compare it with' : `Compare the ${points} points of this sweep side by side`}
                onClick={() => actions.comparePoints(row.id)}
              >
                {count}
              </button>
            </div>
          );
        }
        return (
          <div key={c.id} role="gridcell" {...columnAttrs(c)} title={text}>
            {c.id === 'status' ? <span className={`mlops-rv-dot mlops-rv-status-${row.status}`} aria-hidden="true" /> : null}
            {c.id === 'status' && row.ended === null && row.status === 'running' ? `${text}…` : text}
          </div>
        );
      })}
      <div role="gridcell" className="mlops-rv-cell mlops-rv-actions">
        <a className="mlops-rv-report" href={actions.reportUrl(row.id)} target="_blank" rel="noopener noreferrer">
          Report
        </a>
        <button
          className="mlops-rv-link mlops-rv-open-notebook"
          disabled={!row.notebookPath}
          title={row.notebookPath ? `Open ${row.notebookPath}` : 'The notebook is outside the server root'}
          onClick={() => row.notebookPath && actions.openNotebook(row.notebookPath)}
        >
          Notebook
        </button>
      </div>
    </div>
  );
});

function Header({ columns, sort, onSort }: { columns: readonly Column[]; sort: SortSpec; onSort(c: Column): void }) {
  const groups: { group: string; span: number }[] = [];
  for (const c of columns) {
    const last = groups[groups.length - 1];
    if (last && last.group === c.group) {
      last.span++;
    } else {
      groups.push({ group: c.group, span: 1 });
    }
  }
  const names: Record<string, string> = { run: 'Run', param: 'Params', metric: 'Metrics' };
  return (
    <div className="mlops-rv-head" role="rowgroup">
      <div className="mlops-rv-groups" aria-hidden="true" style={{ gridTemplateColumns: template(columns) }}>
        <div />
        {groups.map((g, i) => (
          <div key={i} className={`mlops-rv-group mlops-rv-group-${g.group}`} style={{ gridColumn: `span ${g.span}` }}>
            {names[g.group]}
          </div>
        ))}
        <div />
      </div>
      <div className="mlops-rv-header" role="row" aria-rowindex={1} style={{ gridTemplateColumns: template(columns) }}>
        <div role="columnheader" className="mlops-rv-cell mlops-rv-check" aria-label="Selected" />
        {columns.map(c => {
          const active = sort.column === c.id;
          return (
            <div key={c.id} role="columnheader" {...columnAttrs(c)} aria-sort={active ? ARIA_SORT[sort.dir] : 'none'}>
              <button className="mlops-rv-sort" title={`Sort by ${c.group === 'run' ? '' : c.group + ' '}${c.label}`} onClick={() => onSort(c)}>
                <span className="mlops-rv-label">{c.label}</span>
                <span className="mlops-rv-arrow" aria-hidden="true">
                  {active ? (sort.dir === 'asc' ? '▲' : '▼') : ''}
                </span>
              </button>
            </div>
          );
        })}
        <div role="columnheader" className="mlops-rv-cell mlops-rv-actions">
          links
        </div>
      </div>
    </div>
  );
}

export function Grid({ model, actions }: { model: RunsViewModel; actions: RowActions }): JSX.Element {
  const scroller = React.useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = React.useState(0);
  const [height, setHeight] = React.useState(600);

  React.useEffect(() => {
    const node = scroller.current;
    if (!node) {
      return;
    }
    const observer = new ResizeObserver(() => setHeight(node.clientHeight || 600));
    observer.observe(node);
    setHeight(node.clientHeight || 600);
    return () => observer.disconnect();
  }, []);

  const columns = model.columns;
  const view = model.display;
  const rows = model.rows;
  const start = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const end = Math.min(view.length, Math.ceil((scrollTop + height) / ROW_HEIGHT) + OVERSCAN);
  const width = CHECK_WIDTH + ACTIONS_WIDTH + columns.reduce((w, c) => w + c.width, 0);
  const gridTemplate = template(columns);
  const shown: JSX.Element[] = [];
  for (let j = start; j < end; j++) {
    const line = view[j];
    const row = rows[line.index];
    shown.push(
      <Row
        key={row.id}
        row={row}
        columns={columns}
        selected={model.selected.has(row.id)}
        now={row.ended === null ? model.now : 0}
        index={j}
        actions={actions}
        depth={line.depth}
        points={line.points}
        folded={model.folded.has(row.id)}
      />
    );
  }
  let empty: string | null = null;
  if (!model.loaded) {
    empty = model.error ? `Could not load runs: ${model.error}` : 'Loading runs…';
  } else if (!view.length) {
    empty = emptyMessage(rows.length, isFiltered(model.filter) ? model.filter : NO_FILTER);
  }
  return (
    <div
      className="mlops-rv-scroll"
      ref={scroller}
      role="grid"
      aria-label="Runs"
      aria-rowcount={view.length + 1}
      aria-multiselectable="true"
      onScroll={e => setScrollTop((e.target as HTMLDivElement).scrollTop)}
      style={{ ['--mlops-rv-template' as any]: gridTemplate }}
    >
      <div className="mlops-rv-sizer" style={{ width }}>
        <Header columns={columns} sort={model.sort} onSort={c => model.setSort(nextSort(model.sort, c))} />
        {empty ? (
          <div className="mlops-rv-empty" role="status">
            {empty}
          </div>
        ) : (
          <div className="mlops-rv-body" role="rowgroup" style={{ height: view.length * ROW_HEIGHT }}>
            <div className="mlops-rv-window" style={{ transform: `translateY(${start * ROW_HEIGHT}px)` }}>
              {shown}
            </div>
          </div>
        )}
      </div>
    </div>
  );
}
