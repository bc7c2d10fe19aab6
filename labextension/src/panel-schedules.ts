/**
 * The Schedules section: the notebook's schedules (triggers, next due, paused) with pause,
 * resume and remove, and a form to add one (cron, on-change globs, stages).
 */
import { Schedule, ScheduleSpec } from './api';
import { h } from './dom';
import { formatAgo, formatDue, statusClass } from './format';
import { scheduleSpec } from './params';

export interface ScheduleActions {
  add(spec: ScheduleSpec): Promise<boolean>;
  setPaused(id: string, paused: boolean): void;
  remove(id: string): void;
}

function field(label: string, input: HTMLInputElement, hint: string): HTMLElement {
  return h('label', { className: 'mlops-field' }, h('span', { className: 'mlops-field-label' }, label), input, h('span', { className: 'mlops-hint' }, hint));
}

/**
 * The add form. Built once and kept across the panel's re-renders (it polls), so what the
 * user is typing, and the form's open state, survive a refresh.
 */
export class ScheduleForm {
  readonly node: HTMLDetailsElement;

  constructor(private readonly add: (spec: ScheduleSpec) => Promise<boolean>) {
    const input = (cls: string, placeholder: string) =>
      h('input', { type: 'text', className: `jp-mod-styled ${cls}`, placeholder, spellcheck: 'false', autocomplete: 'off' });
    this.cron = input('mlops-schedule-cron', 'e.g. 0 2 * * *');
    this.timezone = input('mlops-schedule-tz', 'UTC');
    this.globs = input('mlops-schedule-globs', 'e.g. data/*.csv');
    this.stages = input('mlops-schedule-stages', 'all stages');
    const form = h(
      'form',
      { className: 'mlops-schedule-form', onsubmit: (event: Event) => void this.submit(event) },
      field('Cron', this.cron, 'minute hour day month weekday'),
      field('Timezone', this.timezone, 'IANA name of the cron times; default UTC'),
      field('On change', this.globs, 'globs relative to the notebook, comma-separated; with cron: run only if changed'),
      field('Stages', this.stages, 'comma-separated kinds or names; empty runs all'),
      h('button', { type: 'submit', className: 'jp-Button jp-mod-styled jp-mod-accept mlops-schedule-submit' }, 'Add schedule')
    );
    this.node = h(
      'details',
      { className: 'mlops-schedule-add' },
      h('summary', { className: 'mlops-schedule-add-summary' }, 'Add a schedule…'),
      form
    );
  }

  /** The spec the fields describe (empty fields left out). */
  spec(): ScheduleSpec {
    return scheduleSpec({
      cron: this.cron.value,
      timezone: this.timezone.value,
      globs: this.globs.value,
      stages: this.stages.value
    });
  }

  private async submit(event: Event): Promise<void> {
    event.preventDefault();
    if (await this.add(this.spec())) {
      for (const input of [this.cron, this.timezone, this.globs, this.stages]) {
        input.value = '';
      }
      this.node.open = false;
      this.node.querySelector<HTMLElement>('summary')?.focus();
    }
  }

  private readonly cron: HTMLInputElement;
  private readonly timezone: HTMLInputElement;
  private readonly globs: HTMLInputElement;
  private readonly stages: HTMLInputElement;
}

export function renderSchedules(
  schedules: Schedule[] | null,
  form: ScheduleForm,
  message: { text: string; error: boolean } | null,
  on: ScheduleActions
): Node {
  const section = h('section', { className: 'mlops-schedules', 'aria-label': 'Schedules' }, h('h3', {}, 'Schedules'));
  if (schedules === null) {
    section.append(h('p', { className: 'mlops-empty' }, 'Loading…'));
  } else if (schedules.length === 0) {
    section.append(h('p', { className: 'mlops-empty' }, 'No schedules for this notebook.'));
  } else {
    const list = h('ul', { className: 'mlops-schedule-list' });
    for (const s of schedules) {
      list.append(renderSchedule(s, on));
    }
    section.append(list);
  }
  if (message) {
    section.append(
      h('p', { className: message.error ? 'mlops-error mlops-schedule-message' : 'mlops-schedule-message', role: message.error ? 'alert' : 'status' }, message.text)
    );
  }
  section.append(form.node);
  return section;
}

function renderSchedule(s: Schedule, on: ScheduleActions): Node {
  const short = s.id.slice(0, 8);
  const next = s.paused ? 'paused' : s.next_due ? `next ${formatDue(s.next_due)}` : 'on events';
  return h(
    'li',
    {
      className: `mlops-schedule${s.paused ? ' mlops-schedule-paused' : ''}`,
      'data-schedule-id': s.id,
      'data-paused': s.paused ? 'true' : 'false'
    },
    h(
      'div',
      { className: 'mlops-schedule-head' },
      h('span', { className: 'mlops-schedule-id' }, short),
      h('span', { className: 'mlops-schedule-next', title: s.next_due ?? '' }, next)
    ),
    h('div', { className: 'mlops-schedule-triggers' }, s.triggers),
    h(
      'div',
      { className: 'mlops-stage-note' },
      s.stages.length ? `stages ${s.stages.join(', ')}` : 'all stages',
      s.last_run ? ' · last run ' : '',
      s.last_run
        ? h('span', { className: `mlops-schedule-last ${statusClass(s.last_run.status)}`, title: s.last_run.id }, `${s.last_run.status} ${formatAgo(s.last_run.started)}`)
        : null
    ),
    h(
      'div',
      { className: 'mlops-model-actions' },
      h(
        'button',
        {
          className: `jp-Button jp-mod-minimal ${s.paused ? 'mlops-schedule-resume' : 'mlops-schedule-pause'}`,
          'aria-label': `${s.paused ? 'Resume' : 'Pause'} schedule ${short}`,
          onclick: () => on.setPaused(s.id, !s.paused)
        },
        s.paused ? 'Resume' : 'Pause'
      ),
      h(
        'button',
        { className: 'jp-Button jp-mod-minimal mlops-schedule-remove', 'aria-label': `Remove schedule ${short}`, onclick: () => on.remove(s.id) },
        'Remove'
      )
    )
  );
}
