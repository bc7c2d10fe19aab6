/**
 * Which cells are stages, as the Python side decides it (mlops_magic/stages.py):
 * a first line `%%mlops stage KIND [--name NAME]`, or a cell tag `mlops:KIND[:NAME]`.
 * The kinds are the server's (`enums().stage_kinds`).
 * Pure: no JupyterLab imports, so node's test runner can load it.
 */
import { enums } from './enums';

export const TAG_PREFIX = 'mlops:';

export interface StageSpec {
  kind: string;
  name: string;
  form: 'magic' | 'tag';
}

const HEADER_RE = /^[ \t]*%%mlops[ \t]+stage(?:[ \t]+(.*))?$/;

export function isStageKind(value: string): boolean {
  return enums().stage_kinds.includes(value);
}

/** Whether the first line is a `%%mlops stage` line at all, valid or not. */
export function isStageHeader(source: string): boolean {
  return HEADER_RE.test(source.split('\n', 1)[0].replace(/\r$/, ''));
}

/** Split like Python's shlex.split for what a header holds: spaces, quotes, backslashes. */
export function splitArgs(args: string): string[] {
  const out: string[] = [];
  let token: string | null = null;
  let quote: string | null = null;
  for (let i = 0; i < args.length; i++) {
    const c = args[i];
    if (quote) {
      if (c === quote) {
        quote = null;
      } else if (c === '\\' && quote === '"' && i + 1 < args.length) {
        token += args[++i];
      } else {
        token += c;
      }
    } else if (c === '"' || c === "'") {
      quote = c;
      token = token ?? '';
    } else if (c === '\\' && i + 1 < args.length) {
      token = (token ?? '') + args[++i];
    } else if (/\s/.test(c)) {
      if (token !== null) {
        out.push(token);
        token = null;
      }
    } else {
      token = (token ?? '') + c;
    }
  }
  if (token !== null) {
    out.push(token);
  }
  return out;
}

/** The stage a `%%mlops stage …` first line declares, or null (also for an invalid header). */
export function stageFromHeader(source: string): StageSpec | null {
  const first = source.split('\n', 1)[0].replace(/\r$/, '');
  const match = HEADER_RE.exec(first);
  if (!match) {
    return null;
  }
  const tokens = splitArgs(match[1] ?? '');
  const kind = tokens.shift();
  if (!kind || !isStageKind(kind)) {
    return null;
  }
  let name: string = kind;
  while (tokens.length) {
    const token = tokens.shift() as string;
    if ((token === '--name' || token === '-n') && tokens.length) {
      name = tokens.shift() as string;
    } else if (token.startsWith('--name=')) {
      name = token.slice('--name='.length);
    } else {
      return null;
    }
  }
  return { kind, name: name || kind, form: 'magic' };
}

/** The stage a cell's `mlops:KIND[:NAME]` tag declares, or null. */
export function stageFromTags(tags: unknown): StageSpec | null {
  if (!Array.isArray(tags)) {
    return null;
  }
  for (const tag of tags) {
    if (typeof tag === 'string' && tag.startsWith(TAG_PREFIX)) {
      const [kind, ...rest] = tag.slice(TAG_PREFIX.length).split(':');
      if (isStageKind(kind)) {
        const name = rest.join(':');
        return { kind, name: name || kind, form: 'tag' };
      }
    }
  }
  return null;
}

/** The first line wins over tags, as in Python. */
export function stageOfCell(source: string, tags: unknown): StageSpec | null {
  return stageFromHeader(source) ?? stageFromTags(tags);
}

/**
 * The tags with the stage tag replaced by `mlops:KIND` (or removed when kind is null).
 * Other tags are kept in order; a named stage tag keeps its name when the kind changes.
 */
export function withStageTag(tags: unknown, kind: string | null): string[] {
  const list = Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [];
  const old = stageFromTags(list);
  const kept = list.filter(t => !(t.startsWith(TAG_PREFIX) && isStageKind(t.slice(TAG_PREFIX.length).split(':')[0])));
  if (kind === null) {
    return kept;
  }
  const named = old && old.name !== old.kind ? `:${old.name}` : '';
  return [...kept, `${TAG_PREFIX}${kind}${named}`];
}

/** Sort key of a stage kind in lifecycle order (the server's kinds' order); unknown kinds last. */
export function lifecycleIndex(kind: string, kinds: readonly string[] = enums().stage_kinds): number {
  const i = kinds.indexOf(kind);
  return i < 0 ? kinds.length : i;
}
