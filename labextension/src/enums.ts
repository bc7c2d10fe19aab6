/**
 * The words the API answers with: stage kinds, run and stage statuses, triggers. They are
 * Python's (mlops_magic.entities), served by `GET info` as `enums`; the lab lists them nowhere
 * else. FALLBACK_ENUMS stands in until the first `info` answer, which `MlopsClient.info` adopts
 * here, so every reader (stage parsing, status classes, filters, forms) sees the server's words.
 * Pure: no JupyterLab imports, so node's test runner can load it.
 */
import type { components } from './openapi';

export type Enums = components['schemas']['Info']['enums'];

/** Used only before the server has answered `info` (keep equal to mlops_magic.entities). */
export const FALLBACK_ENUMS: Enums = {
  run_status: ['queued', 'running', 'succeeded', 'failed', 'timed-out', 'killed', 'skipped'],
  stage_status: ['running', 'succeeded', 'failed', 'skipped'],
  stage_kinds: ['problem', 'data', 'train', 'evaluate', 'deploy', 'monitor'],
  triggers: ['interactive', 'papermill', 'manual', 'schedule', 'data-change', 'drift', 'performance', 'ci', 'after', 'reproduce']
};

let current: Enums = FALLBACK_ENUMS;

/** The server's enums once `info` has answered, FALLBACK_ENUMS until then. */
export function enums(): Enums {
  return current;
}

/**
 * Adopt the enums of an `info` answer. A list the answer lacks or leaves empty keeps the one
 * held (an older server); returns whether anything changed.
 */
export function adoptEnums(next: Partial<Enums> | null | undefined): boolean {
  if (!next) {
    return false;
  }
  const merged = { ...current };
  let changed = false;
  for (const key of Object.keys(FALLBACK_ENUMS) as (keyof Enums)[]) {
    const words = next[key];
    if (Array.isArray(words) && words.length && words.join('\n') !== current[key].join('\n')) {
      merged[key] = [...words];
      changed = true;
    }
  }
  if (changed) {
    current = merged;
  }
  return changed;
}
