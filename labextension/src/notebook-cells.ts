/** What the sidebar and the commands read from an open notebook's cells, as the editor holds them. */
import type { ICellModel } from '@jupyterlab/cells';
import type { NotebookPanel } from '@jupyterlab/notebook';

import type { DocumentCell } from './api';

/** A cell's tags (the strings of its `tags` metadata). */
export function tagsOf(cell: ICellModel): string[] {
  const tags = cell.getMetadata('tags');
  return Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [];
}

function cellsOf(notebook: NotebookPanel | null): ICellModel[] | null {
  const cells = notebook?.content.model?.cells;
  return cells ? Array.from(cells) : null;
}

/** Every cell of the document, saved or not (the lifecycle POST reads these); null when not open. */
export function documentCells(notebook: NotebookPanel | null): DocumentCell[] | null {
  return (
    cellsOf(notebook)?.map(cell => ({
      id: cell.id,
      cell_type: cell.type as DocumentCell['cell_type'],
      source: cell.sharedModel.getSource(),
      tags: tagsOf(cell)
    })) ?? null
  );
}

/** The source of the code cell tagged `parameters` (papermill's), or null. */
export function parametersSource(notebook: NotebookPanel | null): string | null {
  const cell = cellsOf(notebook)?.find(c => c.type === 'code' && tagsOf(c).includes('parameters'));
  return cell ? cell.sharedModel.getSource() : null;
}
