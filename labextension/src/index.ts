import { ILabShell, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Dialog, ICommandPalette, InputDialog, showDialog } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';

import { MlopsClient } from './api';
import { CellBadges } from './badges';
import { mlopsIcon } from './icons';
import { MlopsPanel } from './panel';
import { activateRunsView } from './runs-view';
import { isStageKind, STAGE_KINDS, stageFromHeader, StageKind, withStageTag } from './stages';

export const COMMANDS = {
  markStage: 'mlops:mark-stage',
  openPanel: 'mlops:open-panel',
  runNow: 'mlops:run-now'
};

const NO_STAGE = 'none (remove the stage tag)';

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'mlops-magic:plugin',
  description: 'MLOps sidebar, stage cell badges and the mark-stage command.',
  autoStart: true,
  requires: [ILabShell, INotebookTracker],
  optional: [ICommandPalette],
  activate: (app: JupyterFrontEnd, shell: ILabShell, tracker: INotebookTracker, palette: ICommandPalette | null) => {
    const client = new MlopsClient();
    const panel = new MlopsPanel(client, {
      saveNotebook: async path => {
        const nb = tracker.find(w => w.context.path === path);
        if (nb && nb.context.model.dirty) {
          await nb.context.save();
        }
      },
      openFile: path => void app.commands.execute('docmanager:open', { path }),
      parametersSource: path => {
        const nb = tracker.find(w => w.context.path === path);
        const cells = nb?.content.model?.cells;
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
      }
    });
    panel.title.icon = mlopsIcon;
    shell.add(panel, 'left', { rank: 600 });

    // -- badges on stage cells -------------------------------------------------------------
    const badges = new Map<NotebookPanel, CellBadges>();
    tracker.widgetAdded.connect((_, nb) => {
      badges.set(nb, new CellBadges(nb));
      nb.disposed.connect(() => badges.delete(nb));
      nb.context.saveState.connect((_, state) => {
        if (state === 'completed' && panel.notebookPath === nb.context.path) {
          void panel.refresh();
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
            items: [...STAGE_KINDS, NO_STAGE],
            current: current ? current.split(':')[1] : undefined
          });
          if (!result.button.accept || !result.value) {
            return;
          }
          kind = result.value === NO_STAGE ? 'none' : result.value;
        }
        if (kind !== 'none' && !isStageKind(kind)) {
          throw new Error(`unknown stage kind ${kind}; use one of ${STAGE_KINDS.join(', ')}`);
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
      }
    });

    app.commands.addCommand(COMMANDS.openPanel, {
      label: 'Show MLOps Panel',
      execute: () => shell.activateById(panel.id)
    });

    app.commands.addCommand(COMMANDS.runNow, {
      label: 'Run Notebook Headlessly Now (MLOps)',
      isEnabled: () => !!tracker.currentWidget,
      execute: () => {
        shell.activateById(panel.id);
        panel.node.querySelector<HTMLButtonElement>('.mlops-run-now')?.click();
      }
    });

    activateRunsView(app, palette, client);

    if (palette) {
      const category = 'MLOps';
      palette.addItem({ command: COMMANDS.openPanel, category });
      palette.addItem({ command: COMMANDS.runNow, category });
      palette.addItem({ command: COMMANDS.markStage, category });
      for (const kind of [...STAGE_KINDS, 'none']) {
        palette.addItem({ command: COMMANDS.markStage, category, args: { kind } });
      }
    }
  }
};

export default plugin;
