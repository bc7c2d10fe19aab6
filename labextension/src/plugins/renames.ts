/**
 * The rename follower: when the notebook in front is renamed or moved (or a folder holding it
 * is) the sidebar follows it, and the store learns every notebook or folder rename once, so
 * runs and schedules stay with the notebook.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import type { Contents } from '@jupyterlab/services';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';

import type { MlopsPanel } from '../panel';
import { IMlopsSidebar } from '../tokens';

/** How long one rename is remembered: Lab may report the same rename more than once. */
const REMEMBER_MS = 10_000;

const isNotebook = (path: string) => path.endsWith('.ipynb');

/** The sidebar follows the notebook in front when Lab renames or moves it. */
function followRenames(tracker: INotebookTracker, sidebar: MlopsPanel): void {
  const follow = (nb: NotebookPanel) =>
    nb.context.pathChanged.connect((_, newPath) => {
      if (tracker.currentWidget !== nb) {
        return;
      }
      const old = sidebar.notebookPath;
      if (old && old !== newPath) {
        sidebar.followRename(old, newPath);
      } else {
        sidebar.setNotebook(newPath);
      }
    });
  tracker.forEach(follow);
  tracker.widgetAdded.connect((_, nb) => follow(nb));
}

/** The store learns each rename of a notebook or a folder once (Lab may report one twice). */
function recordRenames(contents: Contents.IManager, sidebar: MlopsPanel): void {
  const recorded = new Set<string>();
  const record = (change: Contents.IChangedArgs) => {
    const from = change.oldValue?.path;
    const to = change.newValue?.path;
    if (change.type !== 'rename' || !from || !to || from === to) {
      return;
    }
    if (change.newValue?.type !== 'directory' && !isNotebook(from) && !isNotebook(to)) {
      return; // a data file or a text file: no runs recorded under it
    }
    const key = `${from}\u0000${to}`;
    if (recorded.has(key)) {
      return;
    }
    recorded.add(key);
    window.setTimeout(() => recorded.delete(key), REMEMBER_MS);
    void sidebar.client
      .renameNotebook(from, to)
      .then(() => sidebar.refresh())
      .catch(error => console.warn(`mlops-magic: could not record the rename of ${from} to ${to}: ${error.message ?? error}`));
  };
  contents.fileChanged.connect((_, change) => record(change));
}

export const renamesPlugin: JupyterFrontEndPlugin<void> = {
  id: 'mlops-magic:renames',
  description: 'Follows renamed notebooks in the sidebar and records renames in the store.',
  autoStart: true,
  requires: [INotebookTracker, IMlopsSidebar],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker, sidebar: MlopsPanel) => {
    followRenames(tracker, sidebar);
    recordRenames(app.serviceManager.contents, sidebar);
  }
};
