/** The Models section: each registered model's latest version and aliases, with promote and roll back. */
import { ModelSummary } from './api';
import { h } from './dom';
import { healthLines } from './format';

export interface ModelActions {
  promote(model: string, version: number): void;
  rollback(model: string): void;
}

export function renderModels(models: ModelSummary[], on: ModelActions): Node {
  const section = h('section', { className: 'mlops-models', 'aria-label': 'Models' }, h('h3', {}, 'Models'));
  if (models.length === 0) {
    section.append(h('p', { className: 'mlops-empty' }, 'No registered models.'));
    return section;
  }
  const list = h('ul', { className: 'mlops-model-list' });
  for (const m of models) {
    const aliases = Object.entries(m.aliases)
      .map(([a, v]) => `${a}→v${v}`)
      .join(', ');
    const production = m.aliases['production'];
    list.append(
      h(
        'li',
        { className: 'mlops-model', 'data-model': m.name },
        h('span', { className: 'mlops-kind' }, m.name),
        h('span', { className: 'mlops-stage-note' }, ` v${m.latest} · ${aliases || 'no aliases'}`),
        ...healthLines(m.health).map(line =>
          h(
            'div',
            { className: `mlops-model-health${line.warn ? ' mlops-warn' : ''}`, 'data-check': line.kind, title: `newest ${line.kind} check` },
            line.text
          )
        ),
        h(
          'div',
          { className: 'mlops-model-actions' },
          h(
            'button',
            {
              className: 'jp-Button jp-mod-minimal mlops-promote',
              disabled: production === m.latest,
              title: `Point production at v${m.latest} (gates decide)`,
              onclick: () => on.promote(m.name, m.latest)
            },
            `Promote v${m.latest}`
          ),
          h(
            'button',
            {
              className: 'jp-Button jp-mod-minimal mlops-rollback',
              disabled: production === undefined,
              title: 'Move production back to its previous version',
              onclick: () => on.rollback(m.name)
            },
            'Roll back'
          )
        )
      )
    );
  }
  section.append(list);
  return section;
}
