/**
 * The runs view plugin: the `mlops:open-runs` command ("Open MLOps Runs", palette category
 * MLOps) opens the main-area runs view, restored with its sort and hidden columns (kept in the
 * widget's restore state) when Lab reloads; from it, runs open side by side in a compare tab.
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import type { ReadonlyJSONObject, ReadonlyPartialJSONObject } from '@lumino/coreutils';
import type { Widget } from '@lumino/widgets';

import { At, MlopsClient } from '../api';
import { mlopsIcon } from '../icons';
import { CATEGORY, COMMANDS } from '../tokens';
import { CompareView } from './compare';
import { parseConfig, ViewConfig } from './model';
import { RunsViewModel } from './state';
import { RunsView } from './view';

export { RunsView } from './view';
export { RunsViewModel } from './state';

/** A closable main-area tab with the MLOps icon. */
function tab<T extends Widget>(content: T, id: string, label: string, caption: string): MainAreaWidget<T> {
  const widget = new MainAreaWidget({ content });
  widget.id = id;
  widget.title.label = label;
  widget.title.caption = caption;
  widget.title.icon = mlopsIcon;
  widget.title.closable = true;
  return widget;
}

function activate(
  app: JupyterFrontEnd,
  palette: ICommandPalette | null,
  restorer: ILayoutRestorer | null,
  notebooks: INotebookTracker | null
): void {
  const client = new MlopsClient();
  const tracker = new WidgetTracker<MainAreaWidget<RunsView>>({ namespace: 'mlops-runs' });
  let lastConfig: ViewConfig | null = null;
  let compares = 0;

  const openNotebook = (path: string) => void app.commands.execute('docmanager:open', { path });

  const compare = (at: At, ids: string[], beside: string, sweep?: { id: string; objectives: string[] }) => {
    const content = new CompareView({ client, at }, ids, { openNotebook }, sweep?.objectives);
    const caption = (sweep ? `The points of sweep ${sweep.id.slice(0, 8)}: ` : '') + ids.map(id => id.slice(0, 8)).join(' vs ');
    const label = sweep ? `Sweep ${sweep.id.slice(0, 8)}: ${ids.length} points` : `Compare ${ids.length} runs`;
    const widget = tab(content, `mlops-runs-compare-${++compares}`, label, caption);
    app.shell.add(widget, 'main', { mode: 'tab-after', ref: beside });
    app.shell.activateById(widget.id);
  };

  const open = (args: ReadonlyPartialJSONObject) => {
    const config = parseConfig(args.config ?? lastConfig);
    // The store of the notebook in front (found as its kernel finds it), else the server root's.
    const at = (args.at as string | undefined) ?? notebooks?.currentWidget?.context.path ?? null;
    const model = new RunsViewModel(client, at, config);
    const content = new RunsView(model, {
      openNotebook,
      reportUrl: id => client.reportUrl(id, at),
      compare: (ids, sweep) => compare(at, ids, widget.id, sweep)
    });
    const caption = at ? `Runs in the store of ${at}` : 'Runs in the store of the server root';
    const widget = tab(content, 'mlops-runs-view', 'MLOps Runs', caption);
    model.configChanged.connect((_, next) => {
      lastConfig = next;
      void tracker.save(widget);
    });
    void tracker.add(widget);
    app.shell.add(widget, 'main');
    app.shell.activateById(widget.id);
    return widget;
  };

  app.commands.addCommand(COMMANDS.openRuns, {
    label: 'Open MLOps Runs',
    caption: 'Every run across notebooks: sort, filter, compare',
    icon: args => (args.isPalette ? undefined : mlopsIcon),
    execute: args => {
      const shown = tracker.currentWidget ?? tracker.find(() => true);
      if (shown && !shown.isDisposed) {
        app.shell.activateById(shown.id);
        return shown;
      }
      return open(args);
    }
  });
  palette?.addItem({ command: COMMANDS.openRuns, category: CATEGORY });

  void restorer?.restore(tracker, {
    command: COMMANDS.openRuns,
    args: widget => ({
      config: widget.content.model.config as unknown as ReadonlyJSONObject,
      at: widget.content.model.at ?? null
    }),
    name: () => 'runs'
  });
}

export const runsViewPlugin: JupyterFrontEndPlugin<void> = {
  id: 'mlops-magic:runs-view',
  description: 'The main-area MLOps runs view: every run, sortable and filterable, and runs compared.',
  autoStart: true,
  optional: [ICommandPalette, ILayoutRestorer, INotebookTracker],
  activate
};
