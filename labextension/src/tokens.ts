/**
 * What the extension's plugins share: the command ids and the sidebar token. Each plugin
 * (plugins/*.ts, runs-view/index.ts) asks for what it needs by token, as jupyter-scheduler's do.
 */
import { Token } from '@lumino/coreutils';

import type { MlopsPanel } from './panel';

export const COMMANDS = {
  markStage: 'mlops:mark-stage',
  openPanel: 'mlops:open-panel',
  runNow: 'mlops:run-now',
  openRuns: 'mlops:open-runs'
} as const;

/** The palette category of every MLOps command. */
export const CATEGORY = 'MLOps';

/** The MLOps sidebar (its model, client and lifecycle signal): badges, renames and commands use it. */
export const IMlopsSidebar = new Token<MlopsPanel>(
  'mlops-magic:IMlopsSidebar',
  'The MLOps sidebar: the current notebook, its lifecycle and the API client it reads with.'
);
