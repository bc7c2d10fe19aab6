/**
 * The main-area runs view: `activateRunsView(app, palette)` adds the `mlops:open-runs` command
 * ("Open MLOps Runs", palette category MLOps) that opens it, and restores it with its sort and
 * hidden columns (kept in the widget's restore state) when Lab reloads.
 */
import { ILayoutRestorer, JupyterFrontEnd } from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import type { ReadonlyJSONObject } from '@lumino/coreutils';

import { mlopsIcon } from '../icons';
import { Fetcher, Requester, RunsViewApi } from './client';
import { CompareView } from './compare';
import { parseConfig, ViewConfig } from './model';
import { RunsViewModel } from './state';
import { RunsView } from './view';

export const OPEN_RUNS = 'mlops:open-runs';
export { RunsView } from './view';
export { RunsViewModel } from './state';

/**
 * Register the runs view. `client` may be the sidebar's `MlopsClient` (anything with
 * `request(endpoint)` answering JSON under `mlops/api/v1/`); by default the view makes its own.
 */
export function activateRunsView(app: JupyterFrontEnd, palette: ICommandPalette | null, client?: Requester): void {
  const transport = client ?? new Fetcher();
  let notebooks: INotebookTracker | null = null;
  void app.resolveOptionalService(INotebookTracker).then(t => (notebooks = t));
  const tracker = new WidgetTracker<MainAreaWidget<RunsView>>({ namespace: 'mlops-runs' });
  let lastConfig: ViewConfig | null = null;
  let compares = 0;

  const openNotebook = (path: string) => void app.commands.execute('docmanager:open', { path });

  const compare = (api: RunsViewApi, ids: string[], beside: string) => {
    const content = new CompareView(api, ids, { openNotebook });
    const widget = new MainAreaWidget({ content });
    widget.id = `mlops-runs-compare-${++compares}`;
    widget.title.label = `Compare ${ids.length} runs`;
    widget.title.caption = ids.map(id => id.slice(0, 8)).join(' vs ');
    widget.title.icon = mlopsIcon;
    widget.title.closable = true;
    app.shell.add(widget, 'main', { mode: 'tab-after', ref: beside });
    app.shell.activateById(widget.id);
  };

  app.commands.addCommand(OPEN_RUNS, {
    label: 'Open MLOps Runs',
    caption: 'Every run across notebooks: sort, filter, compare',
    icon: args => (args.isPalette ? undefined : mlopsIcon),
    execute: args => {
      const open = tracker.currentWidget ?? tracker.find(() => true);
      if (open && !open.isDisposed) {
        app.shell.activateById(open.id);
        return open;
      }
      const config = parseConfig((args as ReadonlyJSONObject).config ?? lastConfig);
      // The store of the notebook in front (found as its kernel finds it), else the server root's.
      const at = (args.at as string | undefined) ?? notebooks?.currentWidget?.context.path ?? null;
      const api = new RunsViewApi(transport, at);
      const model = new RunsViewModel(api, config);
      const content = new RunsView(model, {
        openNotebook,
        reportUrl: id => api.reportUrl(id),
        compare: ids => compare(api, ids, widget.id)
      });
      const widget = new MainAreaWidget({ content });
      widget.id = 'mlops-runs-view';
      widget.title.label = 'MLOps Runs';
      widget.title.caption = at ? `Runs in the store of ${at}` : 'Runs in the store of the server root';
      widget.title.icon = mlopsIcon;
      widget.title.closable = true;
      model.configChanged.connect((_, next) => {
        lastConfig = next;
        void tracker.save(widget);
      });
      void tracker.add(widget);
      app.shell.add(widget, 'main');
      app.shell.activateById(widget.id);
      return widget;
    }
  });

  palette?.addItem({ command: OPEN_RUNS, category: 'MLOps' });

  void app.resolveOptionalService(ILayoutRestorer).then(restorer => {
    void restorer?.restore(tracker, {
      command: OPEN_RUNS,
      args: widget => ({
        config: widget.content.model.config as unknown as ReadonlyJSONObject,
        at: widget.content.model.api.at
      }),
      name: () => 'runs'
    });
  });
}
