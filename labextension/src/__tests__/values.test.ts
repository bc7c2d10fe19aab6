import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { parseParamLines, toPythonJson } from '../params';

// The same cases tests/test_value_cases.py runs against mlops_magic.tracking.values.
const file = join(__dirname, '..', '..', '..', 'tests', 'cases', 'values.json');
const cases: { name?: string; text: string; value?: unknown; float?: string; error?: string }[] = JSON.parse(
  readFileSync(file, 'utf-8')
).cases;

test('the shared value cases read as Python reads them', () => {
  assert.ok(cases.length > 20);
  for (const c of cases) {
    const name = c.name ?? 'x';
    const parsed = parseParamLines(`${name}=${c.text}`);
    if (c.error !== undefined) {
      assert.deepEqual(parsed.errors, [`line 1: ${c.error}`], c.text);
      continue;
    }
    assert.deepEqual(parsed.errors, [], c.text);
    const got = parsed.params[name];
    if (c.float !== undefined) {
      assert.ok(typeof got === 'number', c.text);
      assert.ok(c.float === 'nan' ? Number.isNaN(got) : got === Number(c.float.replace('inf', 'Infinity')), c.text);
    } else {
      assert.deepEqual(got, c.value, c.text);
    }
  }
});

test('non-finite values reach Python as NaN and Infinity tokens, not null', () => {
  assert.equal(toPythonJson({ a: NaN, b: [Infinity, -Infinity], c: 'NaN', d: 1 }), '{"a":NaN,"b":[Infinity,-Infinity],"c":"NaN","d":1}');
  assert.equal(toPythonJson({ s: 'Infinity', n: null }), '{"s":"Infinity","n":null}');
});
