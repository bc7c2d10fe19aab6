import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { lifecycleIndex, stageFromHeader, stageFromTags, stageOfCell, withStageTag } from '../stages';

test('a %%mlops stage first line declares a stage', () => {
  assert.deepEqual(stageFromHeader('%%mlops stage train\nfit()'), { kind: 'train', name: 'train', form: 'magic' });
  assert.deepEqual(stageFromHeader('%%mlops stage train --name gbm\n'), { kind: 'train', name: 'gbm', form: 'magic' });
  assert.deepEqual(stageFromHeader('  %%mlops stage data --name="raw data"'), { kind: 'data', name: 'raw data', form: 'magic' });
  assert.equal(stageFromHeader('%%mlops stage cook'), null);
  assert.equal(stageFromHeader('x = 1\n%%mlops stage train'), null);
  assert.equal(stageFromHeader('%%mlops stage train --bogus'), null);
});

test('an mlops:KIND[:NAME] tag declares a stage', () => {
  assert.deepEqual(stageFromTags(['x', 'mlops:evaluate']), { kind: 'evaluate', name: 'evaluate', form: 'tag' });
  assert.deepEqual(stageFromTags(['mlops:train:gbm']), { kind: 'train', name: 'gbm', form: 'tag' });
  assert.equal(stageFromTags(['mlops:cook']), null);
  assert.equal(stageFromTags(undefined), null);
});

test('the first line wins over tags', () => {
  assert.equal(stageOfCell('%%mlops stage deploy', ['mlops:train'])?.kind, 'deploy');
  assert.equal(stageOfCell('print(1)', ['mlops:train'])?.kind, 'train');
  assert.equal(stageOfCell('print(1)', []), null);
});

test('withStageTag replaces the stage tag and keeps the others', () => {
  assert.deepEqual(withStageTag(['keep', 'mlops:data'], 'train'), ['keep', 'mlops:train']);
  assert.deepEqual(withStageTag(['mlops:train:gbm'], 'evaluate'), ['mlops:evaluate:gbm']);
  assert.deepEqual(withStageTag(['keep', 'mlops:data'], null), ['keep']);
  assert.deepEqual(withStageTag(undefined, 'problem'), ['mlops:problem']);
  assert.deepEqual(withStageTag(['mlops:notakind'], 'data'), ['mlops:notakind', 'mlops:data']);
});

test('lifecycle order', () => {
  assert.ok(lifecycleIndex('problem') < lifecycleIndex('monitor'));
  assert.equal(lifecycleIndex('other'), 6);
});

// The same cases tests/test_stage_header_cases.py runs against mlops_magic.tracking.stages.
test('the shared stage-header cases read as Python reads them', () => {
  const file = join(__dirname, '..', '..', '..', 'tests', 'cases', 'stage_headers.json');
  const cases: { header: string; stage: { kind: string; name: string } | null }[] = JSON.parse(
    readFileSync(file, 'utf-8')
  ).cases;
  assert.ok(cases.length > 30);
  for (const c of cases) {
    const spec = stageFromHeader(`${c.header}\nbody()`);
    assert.deepEqual(spec ? { kind: spec.kind, name: spec.name } : null, c.stage, JSON.stringify(c.header.slice(0, 80)));
  }
});
