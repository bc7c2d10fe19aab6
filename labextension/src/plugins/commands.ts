/**
 * The commands plugin: mark the active cell as a stage (also the cell toolbar button, from
 * schema/commands.json), show the sidebar, run the notebook headlessly now; all in the palette.
 */
import { ILabShell, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, InputDialog } from '@jupyterlab/apputils';
import type { Cell } from '@jupyterlab/cells';
import { INotebookTracker } from '@jupyterlab/notebook';

import { enums } from '../enums';
import { mlopsIcon } from '../icons';
import { tagsOf } from '../notebook-cells';
import type { MlopsPanel } from '../panel';
import { isStageKind, stageFromHeader, stageFromTags, withStageTag } from '../stages';
import { CATEGORY, COMMANDS, IMlopsSidebar } from '../tokens';

const NO_STAGE = 'none (remove the stage tag)';

/** The kind to mark the cell with ('none' removes the tag), asked when the command names none. */
async function askKind(cell: Cell): Promise<string | null> {
  const result = await InputDialog.getItem({
    title: 'Mark cell as a lifecycle stage',
    items: [...enums().stage_kinds, NO_STAGE],
    current: stageFromTags(tagsOf(cell.model))?.kind
  });
  if (!result.button.accept || !result.value) {
    return null;
  }
  return result.value === NO_STAGE ? 'none' : result.value;
}

/** Set (or, for 'none', remove) the cell's `mlops:KIND` tag. */
function markStage(cell: Cell, kind: string): void {
  if (kind !== 'none' && !isStageKind(kind)) {
    throw new Error(`unknown stage kind ${kind}; use one of ${enums().stage_kinds.join(', ')}`);
  }
  const tags = withStageTag(cell.model.getMetadata('tags'), kind === 'none' ? null : kind);
  if (tags.length) {
    cell.model.setMetadata('tags', tags);
  } else {
    cell.model.deleteMetadata('tags');
  }
  const header = stageFromHeader(cell.model.sharedModel.getSource());
  if (header && header.kind !== kind) {
    console.warn(`mlops: this cell's %%mlops stage ${header.kind} first line takes precedence over its tag`);
  }
}

function activate(
  app: JupyterFrontEnd,
  shell: ILabShell,
  tracker: INotebookTracker,
  sidebar: MlopsPanel,
  palette: ICommandPalette | null
): void {
  const activeCode = () => (tracker.activeCell?.model.type === 'code' ? tracker.activeCell : null);
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
    isEnabled: () => !!activeCode(),
    execute: async args => {
      const cell = activeCode();
      const kind = cell && ((args.kind as string | undefined) || (await askKind(cell)));
      if (cell && kind) {
        markStage(cell, kind); // the cell's badge follows its tags
        sidebar.documentChanged();
      }
    }
  });

  app.commands.addCommand(COMMANDS.openPanel, {
    label: 'Show MLOps Panel',
    execute: () => shell.activateById(sidebar.id)
  });

  app.commands.addCommand(COMMANDS.runNow, {
    label: 'Run Notebook Headlessly Now (MLOps)',
    isEnabled: () => !!tracker.currentWidget,
    execute: () => {
      shell.activateById(sidebar.id);
      return sidebar.runNow();
    }
  });

  for (const command of [COMMANDS.openPanel, COMMANDS.runNow, COMMANDS.markStage]) {
    palette?.addItem({ command, category: CATEGORY });
  }
  // The kinds known at start (the fallback: `info` has not answered yet), as before the split.
  for (const kind of [...enums().stage_kinds, 'none']) {
    palette?.addItem({ command: COMMANDS.markStage, category: CATEGORY, args: { kind } });
  }
}

export const commandsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'mlops-magic:commands',
  description: 'MLOps commands: mark a cell as a stage (and its cell toolbar button), show the sidebar, run now.',
  autoStart: true,
  requires: [ILabShell, INotebookTracker, IMlopsSidebar],
  optional: [ICommandPalette],
  activate
};
