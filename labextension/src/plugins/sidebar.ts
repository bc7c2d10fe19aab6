/**
 * The sidebar plugin: the MLOps panel in the left area, following the notebook in front and
 * fed by its document (typing, cells added, saves). Provides IMlopsSidebar to the others.
 */
import { ILabShell, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';

import { MlopsClient } from '../api';
import { mlopsIcon } from '../icons';
import { documentCells, parametersSource } from '../notebook-cells';
import { MlopsPanel } from '../panel';
import { COMMANDS, IMlopsSidebar } from '../tokens';

/** A notebook's edits and saves reach the panel while it shows that notebook. */
function feedDocument(panel: MlopsPanel, nb: NotebookPanel): void {
  const ifShown = (then: () => void) => {
    if (panel.notebookPath === nb.context.path) {
      then();
    }
  };
  nb.context.saveState.connect((_, state) => {
    if (state === 'completed') {
      ifShown(() => void panel.refresh());
    }
  });
  const model = nb.content.model;
  model?.contentChanged.connect(() => ifShown(() => panel.documentChanged()));
  model?.cells.changed.connect(() => ifShown(() => panel.documentChanged()));
}

function activate(app: JupyterFrontEnd, shell: ILabShell, tracker: INotebookTracker): MlopsPanel {
  const { commands } = app;
  const notebookAt = (path: string) => tracker.find(w => w.context.path === path) ?? null;
  const panel = new MlopsPanel(new MlopsClient(), {
    saveNotebook: async path => {
      const nb = notebookAt(path);
      if (nb && nb.context.model.dirty) {
        await nb.context.save();
      }
    },
    documentCells: path => documentCells(notebookAt(path)),
    parametersSource: path => parametersSource(notebookAt(path)),
    openFile: path => void commands.execute('docmanager:open', { path }),
    confirm: async (title, body, action) => {
      const buttons = [Dialog.cancelButton(), Dialog.warnButton({ label: action })];
      return (await showDialog({ title, body, buttons })).button.accept;
    },
    runsView: () => (commands.hasCommand(COMMANDS.openRuns) ? () => void commands.execute(COMMANDS.openRuns) : null)
  });
  panel.title.icon = mlopsIcon;
  shell.add(panel, 'left', { rank: 600 });
  // The runs view is another plugin, maybe activated after this one: its link shows once it is.
  commands.commandChanged.connect((_, change) => {
    if (change.id === COMMANDS.openRuns) {
      panel.refreshView();
    }
  });
  tracker.forEach(nb => feedDocument(panel, nb));
  tracker.widgetAdded.connect((_, nb) => feedDocument(panel, nb));
  const follow = () => panel.setNotebook(tracker.currentWidget?.context.path ?? null);
  tracker.currentChanged.connect(follow);
  follow();
  return panel;
}

export const sidebarPlugin: JupyterFrontEndPlugin<MlopsPanel> = {
  id: 'mlops-magic:sidebar',
  description: 'The MLOps sidebar: lifecycle, run-now, runs, schedules and models of the notebook in front.',
  autoStart: true,
  requires: [ILabShell, INotebookTracker],
  provides: IMlopsSidebar,
  activate
};
