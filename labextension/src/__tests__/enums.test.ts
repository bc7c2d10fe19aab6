import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { adoptEnums, enums, FALLBACK_ENUMS } from '../enums';
import { statusClass } from '../format';
import { sortStages } from '../panel-logic';
import { isStageKind, lifecycleIndex, stageFromHeader, stageFromTags, withStageTag } from '../stages';

// One process per test file: these tests share the module's enums, in this order.

test('before info answers, the one fallback list is the words', () => {
  assert.equal(enums(), FALLBACK_ENUMS);
  assert.ok(isStageKind('monitor') && !isStageKind('explain'));
  assert.equal(stageFromHeader('%%mlops stage explain'), null);
  assert.equal(statusClass('timed-out'), 'mlops-status-timed-out');
  assert.equal(statusClass('paused'), 'mlops-status-never');
});

test("the server's enums replace it everywhere: stage parsing, order, status classes", () => {
  const server = {
    run_status: [...FALLBACK_ENUMS.run_status, 'paused'],
    stage_status: FALLBACK_ENUMS.stage_status,
    stage_kinds: ['data', 'problem', 'train', 'explain'],
    triggers: FALLBACK_ENUMS.triggers
  };
  assert.equal(adoptEnums(server), true);
  assert.deepEqual(enums().stage_kinds, ['data', 'problem', 'train', 'explain']);
  assert.deepEqual(stageFromHeader('%%mlops stage explain --name shap'), { kind: 'explain', name: 'shap', form: 'magic' });
  assert.deepEqual(stageFromTags(['mlops:explain']), { kind: 'explain', name: 'explain', form: 'tag' });
  assert.equal(stageFromTags(['mlops:monitor']), null);
  assert.deepEqual(withStageTag(['mlops:data'], 'explain'), ['mlops:explain']);
  assert.ok(lifecycleIndex('data') < lifecycleIndex('problem'));
  assert.equal(lifecycleIndex('monitor'), 4);
  const stage = (kind: string) => ({ kind, name: kind, cell_index: 0 }) as Parameters<typeof sortStages>[0][number];
  assert.deepEqual(
    sortStages([stage('explain'), stage('problem'), stage('data')]).map(s => s.kind),
    ['data', 'problem', 'explain']
  );
  assert.equal(statusClass('paused'), 'mlops-status-paused');
  // The adopted list is a copy: changing the answer afterwards changes nothing.
  server.stage_kinds.push('later');
  assert.ok(!isStageKind('later'));
});

test('a word unfit for a class name never becomes one, even from the server', () => {
  adoptEnums({ run_status: ['ok', 'x onclick=alert(1)', 'Bad'] });
  assert.equal(statusClass('ok'), 'mlops-status-ok');
  assert.equal(statusClass('x onclick=alert(1)'), 'mlops-status-never');
  assert.equal(statusClass('Bad'), 'mlops-status-never');
});

test('an answer without a list, or with an empty one, keeps the list held', () => {
  const before = enums();
  assert.equal(adoptEnums(null), false);
  assert.equal(adoptEnums({ stage_kinds: [] }), false);
  assert.equal(adoptEnums({ ...before }), false);
  assert.equal(enums(), before);
  assert.deepEqual(enums().stage_kinds, ['data', 'problem', 'train', 'explain']);
});
