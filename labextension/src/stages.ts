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

const HEADER_RE = /^[ \t]*%%mlops[ \t]+stage(?:[ \t]+([^\n]*))?$/;

export function isStageKind(value: string): boolean {
  return enums().stage_kinds.includes(value);
}

/** Whether the first line is a `%%mlops stage` line at all, valid or not. */
export function isStageHeader(source: string): boolean {
  return HEADER_RE.test(source.split('\n', 1)[0].replace(/\r$/, ''));
}

/** At most this many characters of header arguments are read (Python's `MAX_HEADER_ARGS`). */
export const MAX_HEADER_ARGS = 4096;

/** shlex's whitespace: other characters (\v, a no-break space) belong to a word, as in Python. */
const BLANKS = ' \t\r\n';

/**
 * Split as Python's `split_args` (shlex.split, POSIX) does: quotes, backslash escapes (inside double
 * quotes only before `"` and `\`), no comments. Null where Python raises: an unclosed quote, a trailing
 * backslash.
 */
export function splitArgs(args: string): string[] | null {
  const out: string[] = [];
  let token: string[] = [];
  let inToken = false;
  let quote = '';
  for (let i = 0; i < args.length; i++) {
    const c = args[i];
    if (quote) {
      if (c === quote) {
        quote = '';
      } else if (c === '\\' && quote === '"' && (i + 1 >= args.length || '"\\'.includes(args[i + 1]))) {
        if (i + 1 >= args.length) {
          return null;
        }
        token.push(args[++i]);
      } else {
        token.push(c);
      }
    } else if (BLANKS.includes(c)) {
      if (inToken) {
        out.push(token.join(''));
        token = [];
        inToken = false;
      }
    } else if (c === '"' || c === "'") {
      quote = c;
      inToken = true;
    } else if (c === '\\') {
      if (i + 1 >= args.length) {
        return null;
      }
      token.push(args[++i]);
      inToken = true;
    } else {
      token.push(c);
      inToken = true;
    }
  }
  if (quote) {
    return null;
  }
  if (inToken) {
    out.push(token.join(''));
  }
  return out;
}

/** Whether a string holds a lone surrogate (Python refuses such a name or path). */
function hasLoneSurrogate(text: string): boolean {
  return /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

const FILE_OPTIONS = ['--inputs', '--outputs'];

/**
 * `KIND [--name NAME] [--cache] [--inputs GLOB ...] [--outputs PATH ...]` as Python's `parse_stage_args`
 * reads it, or null where Python refuses it. `--inputs`/`--outputs` take the words after them up to the
 * next `--` option (`--inputs=GLOB` one) and may be repeated.
 */
export function parseStageArgs(args: string): StageSpec | null {
  if (args.length > MAX_HEADER_ARGS) {
    return null;
  }
  const tokens = splitArgs(args);
  if (!tokens || !tokens.length) {
    return null;
  }
  const kind = tokens[0];
  let name: string | null = null;
  for (let i = 1; i < tokens.length; i++) {
    const token = tokens[i];
    const eq = token.indexOf('=');
    const flag = eq < 0 ? token : token.slice(0, eq);
    const value = eq < 0 ? null : token.slice(eq + 1);
    if ((token === '--name' || token === '-n') && i + 1 < tokens.length) {
      name = tokens[++i];
    } else if (flag === '--name' && value !== null) {
      name = value;
    } else if (token === '--cache') {
      continue;
    } else if (FILE_OPTIONS.includes(token)) {
      const start = i;
      while (i + 1 < tokens.length && !tokens[i + 1].startsWith('--')) {
        if (!tokens[++i].trim() || hasLoneSurrogate(tokens[i])) {
          return null;
        }
      }
      if (i === start) {
        return null;
      }
    } else if (FILE_OPTIONS.includes(flag) && value !== null) {
      if (!value.trim() || hasLoneSurrogate(value)) {
        return null;
      }
    } else {
      return null;
    }
  }
  if (!isStageKind(kind) || (name !== null && (!name.trim() || hasLoneSurrogate(name)))) {
    return null;
  }
  return { kind, name: name || kind, form: 'magic' };
}

/** The stage a `%%mlops stage …` first line declares, or null (also for an invalid header). */
export function stageFromHeader(source: string): StageSpec | null {
  const first = source.split('\n', 1)[0].replace(/\r$/, '');
  const match = HEADER_RE.exec(first);
  return match ? parseStageArgs(match[1] ?? '') : null;
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
