/**
 * Parameters and lists typed in the panel's forms. Pure: no JupyterLab imports.
 * Values are typed as the CLI's `-p NAME VALUE` types them (mlops_magic.tracking.values.parse_literal):
 * int, float (with nan, inf, -inf), bool, None, a quoted string, else the bare string.
 * The cases both parsers must agree on are in tests/cases/values.json (run by a TS test and by pytest).
 */

const INT_RE = /^[+-]?\d+$/;
const FLOAT_RE = /^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$/;
/** A Python identifier, any script (`学习率`), as `str.isidentifier()`; keywords are the server's to refuse. */
const NAME_RE = /^[\p{L}\p{Nl}_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]*$/u;

export function parseLiteral(text: string): unknown {
  const t = text.trim();
  const low = t.toLowerCase();
  if (INT_RE.test(t)) {
    const n = Number(t);
    return Number.isSafeInteger(n) ? n : t;
  }
  if (FLOAT_RE.test(t)) {
    return Number(t);
  }
  if (low === 'nan' || low === '+nan' || low === '-nan') {
    return NaN;
  }
  if (low === 'inf' || low === '+inf' || low === 'infinity' || low === '+infinity') {
    return Infinity;
  }
  if (low === '-inf' || low === '-infinity') {
    return -Infinity;
  }
  if (low === 'true') {
    return true;
  }
  if (low === 'false') {
    return false;
  }
  if (low === 'none' || low === 'null') {
    return null;
  }
  if (t.length >= 2 && t[0] === t[t.length - 1] && (t[0] === '"' || t[0] === "'")) {
    return t.slice(1, -1);
  }
  return t;
}

/**
 * JSON as Python's `json.loads` reads it, NaN and the infinities included (as the bare tokens
 * `NaN`, `Infinity`, `-Infinity`): `JSON.stringify` would silently send them as `null`.
 */
export function toPythonJson(value: unknown): string {
  // A marker no string of the value contains, so only the numbers are turned into tokens.
  const mark = `@nf${Math.random().toString(36).slice(2)}@`;
  const text = JSON.stringify(value, (_key, v) =>
    typeof v === 'number' && !isFinite(v) ? `${mark}${isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity'}` : v
  );
  return (text ?? 'null').replace(new RegExp(`"${mark}(NaN|Infinity|-Infinity)"`, 'g'), '$1');
}

export interface ParsedParams {
  params: Record<string, unknown>;
  /** One message per line that is not `NAME=VALUE` with a Python name. */
  errors: string[];
}

/** `NAME=VALUE` lines (blank lines and `#` comments skipped) into typed parameters. */
export function parseParamLines(text: string): ParsedParams {
  const params: Record<string, unknown> = {};
  const errors: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) {
      return;
    }
    const eq = line.indexOf('=');
    const name = eq > 0 ? line.slice(0, eq).trim() : '';
    if (!NAME_RE.test(name)) {
      errors.push(`line ${i + 1}: write NAME=VALUE with a Python name, e.g. n_estimators=200`);
      return;
    }
    const value = line.slice(eq + 1);
    if (!value.trim()) {
      errors.push(`line ${i + 1}: ${name}= has no value; write ${name}='' for an empty string`);
      return;
    }
    params[name] = parseLiteral(value);
  });
  return { params, errors };
}

/**
 * `NAME=VALUE` lines for the simple assignments of a `parameters` cell (`x = 3  # comment`),
 * so the run-now form starts from the notebook's defaults. Anything else is left out.
 */
export function parameterLines(source: string): string {
  const out: string[] = [];
  for (const raw of source.split(/\r?\n/)) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*(?::[^=]+)?=\s*(.+?)\s*$/.exec(raw);
    if (!m || raw.startsWith(' ') || raw.startsWith('\t')) {
      continue;
    }
    const value = stripComment(m[2]);
    if (value) {
      out.push(`${m[1]}=${value}`);
    }
  }
  return out.join('\n');
}

/** The text before a `#` that is outside quotes (a quoted string is skipped whole). */
const BEFORE_COMMENT_RE = /^((?:[^#'"]|'[^']*'|"[^"]*")*)#/;

/** `value  # comment` without the comment, leaving a `#` inside quotes alone. */
function stripComment(value: string): string {
  const match = BEFORE_COMMENT_RE.exec(value);
  return (match ? match[1] : value).trim();
}

/** `"a, b,,c"` -> `["a", "b", "c"]`; commas or whitespace-free globs on separate lines both work. */
export function splitList(text: string): string[] {
  return text
    .split(/[,\n]/)
    .map(s => s.trim())
    .filter(s => s.length > 0);
}

/** What the schedule form sends (api.ts ScheduleSpec): empty fields left out, lists split. */
export function scheduleSpec(fields: { cron: string; timezone: string; globs: string; stages: string }): {
  cron?: string;
  timezone?: string;
  on_change?: string[];
  stages?: string[];
} {
  const spec: { cron?: string; timezone?: string; on_change?: string[]; stages?: string[] } = {};
  const cron = fields.cron.trim().split(/\s+/).join(' ');
  const timezone = fields.timezone.trim();
  const globs = splitList(fields.globs);
  const stages = splitList(fields.stages);
  if (cron) {
    spec.cron = cron;
  }
  if (timezone) {
    spec.timezone = timezone;
  }
  if (globs.length) {
    spec.on_change = globs;
  }
  if (stages.length) {
    spec.stages = stages;
  }
  return spec;
}
