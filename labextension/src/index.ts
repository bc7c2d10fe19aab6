import { ILabShell, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Dialog, ICommandPalette, InputDialog, showDialog } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';

import { DocumentCell, MlopsClient } from './api';
import { CellBadges } from './badges';
import { mlopsIcon } from './icons';
import { MlopsPanel } from './panel';
import { activateRunsView } from './runs-view';
import { isStageKind, stageFromHeader, StageKind, stageKinds, withStageTag } from './stages';

export const COMMANDS = {
  markStage: 'mlops:mark-stage',
  openPanel: 'mlops:open-panel',
  runNow: 'mlops:run-now'
};

const NO_STAGE = 'none (remove the stage tag)';
/** The main-area runs view's command (another plugin of this extension); the sidebar links to it. */
const RUNS_VIEW_COMMAND = 'mlops:open-runs';

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'mlops-magic:plugin',
  description: 'MLOps sidebar, stage cell badges and the mark-stage command.',
  autoStart: true,
  requires: [ILabShell, INotebookTracker],
  optional: [ICommandPalette],
  activate: (app: JupyterFrontEnd, shell: ILabShell, tracker: INotebookTracker, palette: ICommandPalette | null) => {
    const client = new MlopsClient();
    const notebookAt = (path: string) => tracker.find(w => w.context.path === path) ?? null;
    const panel = new MlopsPanel(client, {
      saveNotebook: async path => {
        const nb = notebookAt(path);
        if (nb && nb.context.model.dirty) {
          await nb.context.save();
        }
      },
      documentCells: path => {
        const cells = notebookAt(path)?.content.model?.cells;
        if (!cells) {
          return null;
        }
        const out: DocumentCell[] = [];
        for (let i = 0; i < cells.length; i++) {
          const cell = cells.get(i);
          const tags = cell.getMetadata('tags');
          out.push({
            id: cell.id,
            cell_type: cell.type as DocumentCell['cell_type'],
            source: cell.sharedModel.getSource(),
            tags: Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : []
          });
        }
        return out;
      },
      openFile: path => void app.commands.execute('docmanager:open', { path }),
      parametersSource: path => {
        const cells = notebookAt(path)?.content.model?.cells;
        if (!cells) {
          return null;
        }
        for (let i = 0; i < cells.length; i++) {
          const cell = cells.get(i);
          const tags = cell.getMetadata('tags');
          if (cell.type === 'code' && Array.isArray(tags) && tags.includes('parameters')) {
            return cell.sharedModel.getSource();
          }
        }
        return null;
      },
      confirm: async (title, body, action) => {
        const result = await showDialog({
          title,
          body,
          buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: action })]
        });
        return result.button.accept;
      },
      runsView: () =>
        app.commands.hasCommand(RUNS_VIEW_COMMAND) ? () => void app.commands.execute(RUNS_VIEW_COMMAND) : null
    });
    panel.title.icon = mlopsIcon;
    shell.add(panel, 'left', { rank: 600 });
    // The runs view comes from another plugin, maybe activated after this one.
    app.commands.commandChanged.connect((_, change) => {
      if (change.id === RUNS_VIEW_COMMAND) {
        panel.refreshView();
      }
    });

    // -- badges on stage cells; the open document feeds the lifecycle ------------------------
    const badges = new Map<NotebookPanel, CellBadges>();
    tracker.widgetAdded.connect((_, nb) => {
      badges.set(nb, new CellBadges(nb));
      nb.disposed.connect(() => badges.delete(nb));
      const ifCurrent = (then: () => void) => {
        if (panel.notebookPath === nb.context.path) {
          then();
        }
      };
      nb.context.saveState.connect((_, state) => {
        if (state === 'completed') {
          ifCurrent(() => void panel.refresh());
        }
      });
      const model = nb.content.model;
      model?.contentChanged.connect(() => ifCurrent(() => panel.documentChanged()));
      model?.cells.changed.connect(() => ifCurrent(() => panel.documentChanged()));
      // Renamed or moved (also when a folder holding it is): the panel follows the document.
      nb.context.pathChanged.connect((_, newPath) => {
        if (tracker.currentWidget === nb) {
          const old = panel.notebookPath;
          if (old && old !== newPath) {
            panel.followRename(old, newPath);
          } else {
            panel.setNotebook(newPath);
          }
        }
      });
    });
    panel.lifecycleChanged.connect((_, view) => {
      const nb = tracker.currentWidget;
      if (nb && (!view || view.path === nb.context.path)) {
        badges.get(nb)?.setLifecycle(view);
      }
    });
    const follow = () => panel.setNotebook(tracker.currentWidget?.context.path ?? null);
    tracker.currentChanged.connect(follow);
    follow();

    // -- renames: the store learns them once, so runs and schedules stay with the notebook -----
    const recorded = new Set<string>();
    app.serviceManager.contents.fileChanged.connect((_, change) => {
      const from = change.oldValue?.path;
      const to = change.newValue?.path;
      if (change.type !== 'rename' || !from || !to || from === to) {
        return;
      }
      const isNotebook = (p: string) => p.endsWith('.ipynb');
      const kind = change.newValue?.type;
      if (kind !== 'directory' && !isNotebook(from) && !isNotebook(to)) {
        return; // a data file or a text file: no runs recorded under it
      }
      const key = `${from}\u0000${to}`;
      if (recorded.has(key)) {
        return;
      }
      recorded.add(key);
      window.setTimeout(() => recorded.delete(key), 10_000);
      void client
        .renameNotebook(from, to)
        .then(() => panel.refresh())
        .catch(error => console.warn(`mlops-magic: could not record the rename of ${from} to ${to}: ${error.message ?? error}`));
    });

    // -- commands ----------------------------------------------------------------------------
    app.commands.addCommand(COMMANDS.markStage, {
      label: args => {
        const kind = args.kind as string | undefined;
        if (kind === 'none') {
          return 'Remove MLOps Stage Tag from Cell';
        }
        return kind ? `Mark Cell as MLOps Stage: ${kind}` : 'Mark Cell as MLOps Stage…';
      },
      caption: 'Set the active cell’s mlops:KIND tag, making it a lifecycle stage',
      icon: args => (args.kind ? undefined : mlopsIcon),
      isEnabled: () => tracker.activeCell?.model.type === 'code',
      execute: async args => {
        const cell = tracker.activeCell;
        if (!cell || cell.model.type !== 'code') {
          return;
        }
        let kind = args.kind as string | undefined;
        if (!kind) {
          const current = (cell.model.getMetadata('tags') as string[] | undefined)?.find(t => t.startsWith('mlops:'));
          const result = await InputDialog.getItem({
            title: 'Mark cell as a lifecycle stage',
            items: [...stageKinds(), NO_STAGE],
            current: current ? current.split(':')[1] : undefined
          });
          if (!result.button.accept || !result.value) {
            return;
          }
          kind = result.value === NO_STAGE ? 'none' : result.value;
        }
        if (kind !== 'none' && !isStageKind(kind)) {
          throw new Error(`unknown stage kind ${kind}; use one of ${stageKinds().join(', ')}`);
        }
        const tags = withStageTag(cell.model.getMetadata('tags'), kind === 'none' ? null : (kind as StageKind));
        if (tags.length) {
          cell.model.setMetadata('tags', tags);
        } else {
          cell.model.deleteMetadata('tags');
        }
        const header = stageFromHeader(cell.model.sharedModel.getSource());
        if (header && header.kind !== kind) {
          console.warn(`mlops: this cell's %%mlops stage ${header.kind} first line takes precedence over its tag`);
        }
        badges.get(tracker.currentWidget as NotebookPanel)?.schedule();
        panel.documentChanged();
      }
    });

    app.commands.addCommand(COMMANDS.openPanel, {
      label: 'Show MLOps Panel',
      execute: () => shell.activateById(panel.id)
    });

    app.commands.addCommand(COMMANDS.runNow, {
      label: 'Run Notebook Headlessly Now (MLOps)',
      isEnabled: () => !!tracker.currentWidget,
      execute: async () => {
        shell.activateById(panel.id);
        return panel.runNow();
      }
    });

    activateRunsView(app, palette, client);

    if (palette) {
      const category = 'MLOps';
      palette.addItem({ command: COMMANDS.openPanel, category });
      palette.addItem({ command: COMMANDS.runNow, category });
      palette.addItem({ command: COMMANDS.markStage, category });
      for (const kind of [...stageKinds(), 'none']) {
        palette.addItem({ command: COMMANDS.markStage, category, args: { kind } });
      }
    }
  }
};

export default plugin;
