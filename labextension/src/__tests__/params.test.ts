import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { formatDue } from '../format';
import { parameterLines, parseLiteral, parseParamLines, scheduleSpec, splitList } from '../params';

test('literals are typed as the CLI types -p values', () => {
  assert.equal(parseLiteral('3'), 3);
  assert.equal(parseLiteral(' -2.5e1 '), -25);
  assert.equal(parseLiteral('True'), true);
  assert.equal(parseLiteral('none'), null);
  assert.equal(parseLiteral('"42"'), '42');
  assert.equal(parseLiteral('gbm'), 'gbm');
  assert.equal(parseLiteral('99999999999999999999'), '99999999999999999999');
});

test('NAME=VALUE lines, with comments, blanks and one error per bad line', () => {
  const parsed = parseParamLines('n_estimators=200\n\n# a comment\nlr = 0.1\nname=a=b\n2x=1\nnovalue');
  assert.deepEqual(parsed.params, { n_estimators: 200, lr: 0.1, name: 'a=b' });
  assert.equal(parsed.errors.length, 2);
  assert.match(parsed.errors[0], /^line 6: write NAME=VALUE/);
});

test('names follow Python (any script), and an empty value is an error, as in the magic', () => {
  const parsed = parseParamLines("学习率=0.1\nlr=\nempty=''\nx-y=1");
  assert.deepEqual(parsed.params, { 学习率: 0.1, empty: '' });
  assert.deepEqual(parsed.errors, [
    "line 2: lr= has no value; write lr='' for an empty string",
    'line 4: write NAME=VALUE with a Python name, e.g. n_estimators=200'
  ]);
});

test('a parameters cell becomes NAME=VALUE lines', () => {
  const src = 'n_estimators = 100  # trees\nlabel: str = "a # b"\n  indented = 1\nimport os\nfor i in x: pass\ndata_path="d.csv"';
  assert.equal(parameterLines(src), 'n_estimators=100\nlabel="a # b"\ndata_path="d.csv"');
  // A quote of the other kind inside a string, and a string left open, hide no comment and make none.
  assert.equal(parameterLines(`a = "it's" # c\nb = 'x' + "# y" #z\nc = 'open # no`), `a="it's"\nb='x' + "# y"\nc='open # no`);
  assert.deepEqual(parseParamLines(parameterLines(src)).params, {
    n_estimators: 100,
    label: 'a # b',
    data_path: 'd.csv'
  });
});

test('lists split on commas and newlines', () => {
  assert.deepEqual(splitList(' data/*.csv, models/**\n\n,x '), ['data/*.csv', 'models/**', 'x']);
  assert.deepEqual(splitList(''), []);
});

test('due times', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  assert.equal(formatDue('2026-01-01T12:05:00Z', now), 'in 5 min');
  assert.equal(formatDue('2026-01-01T15:00:00+00:00', now), 'in 3 h');
  assert.equal(formatDue('2026-01-03T02:00:00+01:00', now), '2026-01-03 01:00 UTC');
  assert.equal(formatDue(null, now), '—');
});

test('the schedule form sends only what was filled in', () => {
  assert.deepEqual(scheduleSpec({ cron: ' 0  2 * * * ', timezone: '', globs: 'data/*.csv, raw/**', stages: '' }), {
    cron: '0 2 * * *',
    on_change: ['data/*.csv', 'raw/**']
  });
  assert.deepEqual(scheduleSpec({ cron: '', timezone: 'Europe/Paris', globs: '', stages: 'train,evaluate' }), {
    timezone: 'Europe/Paris',
    stages: ['train', 'evaluate']
  });
});
