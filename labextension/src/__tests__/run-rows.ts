/** Test rows for the runs view's logic: a finished manual run of a.ipynb, with any field overridden. */
import type { RunRow } from '../runs-view/model';

export const T0 = Date.parse('2026-03-01T10:00:00Z') / 1000;

export function row(id: string, over: Partial<RunRow> = {}): RunRow {
  return {
    id,
    status: 'succeeded',
    notebook: 'a.ipynb',
    notebookPath: 'a.ipynb',
    trigger: 'manual',
    user: 'alice',
    started: T0,
    ended: T0 + 3,
    parent: null,
    params: {},
    metrics: {},
    ...over
  };
}
