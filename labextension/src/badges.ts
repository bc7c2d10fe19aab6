/**
 * Cell badges: each stage cell shows its kind and the status of its latest attempt, under
 * the input prompt (the top right belongs to the cell toolbar).
 * The kind comes from the cell itself (first line or tag, read live as the user types);
 * the status from the lifecycle view the panel fetched.
 */
import { Cell } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';
import { Debouncer } from '@lumino/polling';

import { LifecycleView } from './api';
import { statusClass } from './format';
import { stageOfCell } from './stages';

const BADGE_CLASS = 'mlops-cell-badge';
const STATUS_MARK: Record<string, string> = {
  succeeded: ' ✓',
  failed: ' ✗',
  'timed-out': ' ✗',
  killed: ' ✗',
  running: ' …'
};

export class CellBadges {
  constructor(private readonly panel: NotebookPanel) {
    const model = panel.content.model;
    model?.contentChanged.connect(this.schedule, this);
    model?.cells.changed.connect(this.schedule, this);
    panel.content.cellInViewportChanged.connect(this.schedule, this);
    panel.disposed.connect(() => this._debouncer.dispose());
    void panel.revealed.then(() => this.schedule());
  }

  /** The panel's latest lifecycle view for this notebook (null: statuses unknown). */
  setLifecycle(view: LifecycleView | null): void {
    this._status.clear();
    for (const stage of view?.stages ?? []) {
      this._status.set(stage.name, stage.status === 'not run' ? null : stage.status);
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
    for (const cell of this.panel.content.widgets) {
      this.updateCell(cell);
    }
  }

  private updateCell(cell: Cell): void {
    const area = cell.inputArea?.node;
    if (!area) {
      return;
    }
    let badge = area.querySelector<HTMLElement>(`:scope > .${BADGE_CLASS}`);
    const spec = cell.model.type === 'code' ? stageOfCell(cell.model.sharedModel.getSource(), cell.model.getMetadata('tags')) : null;
    if (!spec) {
      badge?.remove();
      cell.removeClass('mlops-stage-cell');
      return;
    }
    const status = this._status.get(spec.name) ?? null;
    const label = spec.name === spec.kind ? spec.kind : `${spec.kind}: ${spec.name}`;
    if (!badge) {
      badge = document.createElement('span');
      area.appendChild(badge);
    }
    badge.className = `${BADGE_CLASS} ${statusClass(status)}`;
    badge.dataset.kind = spec.kind;
    badge.dataset.status = status ?? 'never';
    // Short enough for the prompt column; the full story is in the tooltip.
    badge.textContent = `${spec.kind}${STATUS_MARK[status ?? ''] ?? ''}`;
    badge.title = `mlops stage ${label} (${spec.form === 'tag' ? 'cell tag' : '%%mlops stage'}): ${status ?? 'not run yet'}`;
    cell.addClass('mlops-stage-cell');
  }

  private _status = new Map<string, string | null>();
  private _debouncer = new Debouncer(() => this.update(), 250);
}
