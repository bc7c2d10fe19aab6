/**
 * Cell badges: each stage cell shows its kind and the status of its latest attempt, under
 * the input prompt (the top right belongs to the cell toolbar).
 * The kind comes from the cell itself (first line or tag, read live as the user types);
 * the status from the lifecycle view the panel fetched. A stage cell that does not parse
 * (`%%mlops stage trian`) gets an "invalid" badge and the server's one-line error under it.
 *
 * Only what differs is written: a lifecycle answer equal to the last one touches no node.
 */
import { Cell } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';
import { Debouncer } from '@lumino/polling';

import type { LifecycleView } from './api';
import { statusClass } from './format';
import { isStageHeader, stageOfCell } from './stages';

const BADGE_CLASS = 'mlops-cell-badge';
const ERROR_CLASS = 'mlops-cell-error';
const STATUS_MARK: Record<string, string> = {
  succeeded: ' ✓',
  failed: ' ✗',
  'timed-out': ' ✗',
  killed: ' ✗',
  running: ' …',
  skipped: ' –'
};

/** Set an attribute (or text) only when it differs: a MutationObserver sees nothing otherwise. */
function put(el: HTMLElement, name: string, value: string): void {
  if (el.getAttribute(name) !== value) {
    el.setAttribute(name, value);
  }
}

function toggle(cell: Cell, cls: string, on: boolean): void {
  // classList.add/remove write the attribute even when nothing changes: ask first.
  if (cell.hasClass(cls) !== on) {
    cell.toggleClass(cls, on);
  }
}

function putText(el: HTMLElement, text: string): void {
  if (el.textContent !== text) {
    el.textContent = text;
  }
}

export class CellBadges {
  constructor(private readonly panel: NotebookPanel) {
    const model = panel.content.model;
    model?.contentChanged.connect(this.schedule, this);
    // A cell's tags are its metadata, which the notebook's contentChanged does not cover.
    for (const cell of model?.cells ?? []) {
      cell.metadataChanged.connect(this.schedule, this);
    }
    model?.cells.changed.connect((_, change) => {
      change.newValues.forEach(cell => cell.metadataChanged.connect(this.schedule, this));
      this.schedule();
    }, this);
    panel.content.cellInViewportChanged.connect(this.schedule, this);
    panel.disposed.connect(() => this._debouncer.dispose());
    void panel.revealed.then(() => this.schedule());
  }

  /** The panel's latest lifecycle view for this notebook (null: statuses unknown). */
  setLifecycle(view: LifecycleView | null): void {
    this._status.clear();
    this._invalidById.clear();
    this._invalidByIndex.clear();
    for (const stage of view?.stages ?? []) {
      this._status.set(stage.name, stage.status === 'not run' ? null : stage.status);
    }
    for (const cell of view?.invalid_cells ?? []) {
      if (cell.cell_id) {
        this._invalidById.set(cell.cell_id, cell.error);
      } else {
        this._invalidByIndex.set(cell.cell_index, cell.error); // a notebook without cell ids
      }
    }
    this.schedule();
  }

  schedule(): void {
    void this._debouncer.invoke();
  }

  update(): void {
    if (this.panel.isDisposed) {
      return;
    }
    this.panel.content.widgets.forEach((cell, index) => this.updateCell(cell, index));
  }

  private updateCell(cell: Cell, index: number): void {
    const area = cell.inputArea?.node;
    if (!area) {
      return;
    }
    let badge = area.querySelector<HTMLElement>(`:scope > .${BADGE_CLASS}`);
    let errorLine = area.querySelector<HTMLElement>(`:scope > .${ERROR_CLASS}`);
    const code = cell.model.type === 'code';
    const source = code ? cell.model.sharedModel.getSource() : '';
    const spec = code ? stageOfCell(source, cell.model.getMetadata('tags')) : null;
    // The server's word first (it parses as the kernel will); a header that does not parse here too.
    const serverError = code ? (this._invalidById.get(cell.model.id) ?? this._invalidByIndex.get(index)) : undefined;
    const invalid = !spec && code && (serverError !== undefined || isStageHeader(source));
    if (!spec && !invalid) {
      badge?.remove();
      errorLine?.remove();
      toggle(cell, 'mlops-stage-cell', false);
      toggle(cell, 'mlops-invalid-stage-cell', false);
      return;
    }
    if (!badge) {
      badge = document.createElement('span');
      area.appendChild(badge);
    }
    if (spec) {
      errorLine?.remove();
      toggle(cell, 'mlops-invalid-stage-cell', false);
      const status = this._status.get(spec.name) ?? null;
      const label = spec.name === spec.kind ? spec.kind : `${spec.kind}: ${spec.name}`;
      put(badge, 'class', `${BADGE_CLASS} ${statusClass(status)}`);
      put(badge, 'data-kind', spec.kind);
      put(badge, 'data-status', status ?? 'never');
      // The kind in full (the prompt column fits the longest, "evaluate ✓"); the full story in the tooltip.
      putText(badge, `${spec.kind}${STATUS_MARK[status ?? ''] ?? ''}`);
      put(badge, 'title', `mlops stage ${label} (${spec.form === 'tag' ? 'cell tag' : '%%mlops stage'}): ${status ?? 'not run yet'}`);
    } else {
      const error = serverError ?? 'this %%mlops stage line does not parse';
      put(badge, 'class', `${BADGE_CLASS} mlops-status-invalid`);
      put(badge, 'data-kind', '');
      put(badge, 'data-status', 'invalid');
      putText(badge, 'invalid');
      put(badge, 'title', `not a stage: ${error}`);
      if (!errorLine) {
        errorLine = document.createElement('div');
        errorLine.className = ERROR_CLASS;
        errorLine.setAttribute('role', 'note');
        area.appendChild(errorLine);
      }
      putText(errorLine, error);
      toggle(cell, 'mlops-invalid-stage-cell', true);
    }
    toggle(cell, 'mlops-stage-cell', true);
  }

  private _status = new Map<string, string | null>();
  private _invalidById = new Map<string, string>();
  private _invalidByIndex = new Map<number, string>();
  private _debouncer = new Debouncer(() => this.update(), 250);
}
