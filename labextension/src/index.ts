/**
 * mlops-magic's JupyterLab extension: five small plugins, as jupyter-scheduler splits its own.
 * The sidebar provides IMlopsSidebar (tokens.ts); the badges, the rename follower and the
 * commands build on it; the runs view stands alone.
 */
import type { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { badgesPlugin } from './plugins/badges';
import { commandsPlugin } from './plugins/commands';
import { renamesPlugin } from './plugins/renames';
import { sidebarPlugin } from './plugins/sidebar';
import { runsViewPlugin } from './runs-view';

export { COMMANDS, IMlopsSidebar } from './tokens';

const plugins: JupyterFrontEndPlugin<any>[] = [sidebarPlugin, badgesPlugin, renamesPlugin, runsViewPlugin, commandsPlugin];

export default plugins;
