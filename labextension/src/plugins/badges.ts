/** The badges plugin: a kind-and-status badge on each stage cell, statuses from the sidebar's lifecycle. */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';

import { CellBadges } from '../badges';
import type { MlopsPanel } from '../panel';
import { IMlopsSidebar } from '../tokens';

function activate(_app: JupyterFrontEnd, tracker: INotebookTracker, sidebar: MlopsPanel): void {
  const badges = new Map<NotebookPanel, CellBadges>();
  const attach = (nb: NotebookPanel) => {
    badges.set(nb, new CellBadges(nb));
    nb.disposed.connect(() => badges.delete(nb));
  };
  tracker.forEach(attach);
  tracker.widgetAdded.connect((_, nb) => attach(nb));
  // The lifecycle is the notebook in front's (null while another is loading: statuses unknown).
  sidebar.lifecycleChanged.connect((_, view) => {
    const nb = tracker.currentWidget;
    if (nb && (!view || view.path === nb.context.path)) {
      badges.get(nb)?.setLifecycle(view);
    }
  });
}

export const badgesPlugin: JupyterFrontEndPlugin<void> = {
  id: 'mlops-magic:badges',
  description: 'Stage cell badges: each stage cell shows its kind and the status of its latest attempt.',
  autoStart: true,
  requires: [INotebookTracker, IMlopsSidebar],
  activate
};
