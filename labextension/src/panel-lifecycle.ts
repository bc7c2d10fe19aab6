/** The Lifecycle section: the notebook's stage cells in lifecycle order, each with its latest attempt. */
import { LifecycleView } from './api';
import { h } from './dom';
import { formatAgo, formatDuration, statusClass } from './format';
import { lifecycleIndex, STAGE_KINDS } from './stages';

export function renderLifecycle(view: LifecycleView | null): Node {
  const section = h('section', { className: 'mlops-lifecycle', 'aria-label': 'Lifecycle' }, h('h3', {}, 'Lifecycle'));
  if (!view) {
    section.append(h('p', { className: 'mlops-empty' }, 'Loading…'));
    return section;
  }
  const list = h('ol', { className: 'mlops-stages' });
  const stages = [...view.stages].sort(
    (a, b) => lifecycleIndex(a.kind) - lifecycleIndex(b.kind) || a.cell_index - b.cell_index
  );
  for (const kind of STAGE_KINDS) {
    const ofKind = stages.filter(s => s.kind === kind);
    if (ofKind.length === 0) {
      list.append(
        h(
          'li',
          { className: 'mlops-stage mlops-stage-missing', 'data-kind': kind },
          h('span', { className: 'mlops-kind' }, kind),
          h('span', { className: 'mlops-stage-note' }, 'no cell')
        )
      );
      continue;
    }
    for (const stage of ofKind) {
      const ran = stage.status !== 'not run';
      list.append(
        h(
          'li',
          {
            className: `mlops-stage ${statusClass(ran ? stage.status : null)}`,
            'data-kind': kind,
            'data-status': ran ? stage.status : 'never',
            title:
              stage.error ??
              (ran ? `attempt ${stage.attempt} of ${stage.attempts}, ${formatAgo(stage.started)}` : 'not run yet')
          },
          h('span', { className: 'mlops-kind' }, kind),
          h('span', { className: 'mlops-stage-name' }, stage.name === kind ? '' : stage.name),
          h('span', { className: 'mlops-status' }, stage.status),
          h('span', { className: 'mlops-duration' }, ran ? formatDuration(stage.duration) : ''),
          stage.warnings.length ? h('span', { className: 'mlops-warning', title: stage.warnings.join('\n') }, '⚠') : null
        )
      );
      for (const warning of stage.warnings ?? []) {
        list.append(h('li', { className: 'mlops-stage-warning' }, warning));
      }
    }
  }
  section.append(list);
  for (const warning of view.warnings ?? []) {
    section.append(h('p', { className: 'mlops-warning' }, warning));
  }
  return section;
}
