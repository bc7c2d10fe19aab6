/**
 * The Schedules section: the notebook's schedules (triggers, next due, paused) with pause,
 * resume and remove, and a form to add one (cron, on-change globs, stages).
 */
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import type { Schedule, ScheduleSpec } from './api';
import { formatAgo, formatDue, statusClass } from './format';
import { scheduleSpec } from './params';
import type { Note, Section } from './panel-model';
import { NoteLine, PanelSection, SectionList } from './panel-parts';

export interface ScheduleActions {
  add(spec: ScheduleSpec): Promise<boolean>;
  setPaused(id: string, paused: boolean): void;
  remove(id: string): void;
}

export function SchedulesSection(props: { section: Section<Schedule[]>; message: Note | null; on: ScheduleActions }): JSX.Element {
  return (
    <PanelSection className="mlops-schedules" title="Schedules" error={props.section.error}>
      <SectionList section={props.section} className="mlops-schedule-list" empty="No schedules for this notebook.">
        {s => <ScheduleRow key={s.id} schedule={s} on={props.on} />}
      </SectionList>
      <NoteLine note={props.message} className="mlops-schedule-message" />
      <ScheduleForm add={props.on.add} />
    </PanelSection>
  );
}

function ScheduleRow(props: { schedule: Schedule; on: ScheduleActions }): JSX.Element {
  const { schedule: s, on } = props;
  const short = s.id.slice(0, 8);
  const next = s.paused ? 'paused' : s.next_due ? `next ${formatDue(s.next_due)}` : 'on events';
  return (
    <li className={`mlops-schedule${s.paused ? ' mlops-schedule-paused' : ''}`} data-schedule-id={s.id} data-paused={s.paused ? 'true' : 'false'}>
      <div className="mlops-schedule-head">
        <span className="mlops-schedule-id">{short}</span>
        <span className="mlops-schedule-next" title={s.next_due ?? ''}>
          {next}
        </span>
      </div>
      <div className="mlops-schedule-triggers">{s.triggers}</div>
      <div className="mlops-stage-note">
        {s.stages.length ? `stages ${s.stages.join(', ')}` : 'all stages'}
        {s.last_run ? (
          <>
            {' · last run '}
            <span className={`mlops-schedule-last ${statusClass(s.last_run.status)}`} title={s.last_run.id}>
              {`${s.last_run.status} ${formatAgo(s.last_run.started)}`}
            </span>
          </>
        ) : null}
      </div>
      <div className="mlops-model-actions">
        {/* One button that turns into its opposite, so the keyboard stays on it. */}
        <Button
          minimal
          small
          className={s.paused ? 'mlops-schedule-resume' : 'mlops-schedule-pause'}
          aria-label={`${s.paused ? 'Resume' : 'Pause'} schedule ${short}`}
          onClick={() => on.setPaused(s.id, !s.paused)}
        >
          {s.paused ? 'Resume' : 'Pause'}
        </Button>
        <Button minimal small className="mlops-schedule-remove" aria-label={`Remove schedule ${short}`} onClick={() => on.remove(s.id)}>
          Remove
        </Button>
      </div>
    </li>
  );
}

const FIELDS = [
  ['cron', 'Cron', 'mlops-schedule-cron', 'e.g. 0 2 * * *', 'minute hour day month weekday'],
  ['timezone', 'Timezone', 'mlops-schedule-tz', 'UTC', 'IANA name of the cron times; default UTC'],
  ['globs', 'On change', 'mlops-schedule-globs', 'e.g. data/*.csv', 'globs relative to the notebook, comma-separated; with cron: run only if changed'],
  ['stages', 'Stages', 'mlops-schedule-stages', 'all stages', 'comma-separated kinds or names; empty runs all']
] as const;

type Fields = Record<(typeof FIELDS)[number][0], string>;
const BLANK: Fields = { cron: '', timezone: '', globs: '', stages: '' };

function ScheduleForm(props: { add(spec: ScheduleSpec): Promise<boolean> }): JSX.Element {
  const [fields, setFields] = React.useState<Fields>(BLANK);
  const details = React.useRef<HTMLDetailsElement>(null);
  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    if (await props.add(scheduleSpec(fields))) {
      setFields(BLANK);
      if (details.current) {
        details.current.open = false;
        details.current.querySelector<HTMLElement>('summary')?.focus();
      }
    }
  };
  return (
    <details className="mlops-schedule-add" ref={details}>
      <summary className="mlops-schedule-add-summary">Add a schedule…</summary>
      <form className="mlops-schedule-form" onSubmit={e => void submit(e)}>
        {FIELDS.map(([key, label, cls, placeholder, hint]) => (
          <label key={key} className="mlops-field">
            <span className="mlops-field-label">{label}</span>
            <input
              type="text"
              className={`jp-mod-styled ${cls}`}
              placeholder={placeholder}
              spellCheck={false}
              autoComplete="off"
              value={fields[key]}
              onChange={e => {
                const value = e.currentTarget.value;
                setFields(f => ({ ...f, [key]: value }));
              }}
            />
            <span className="mlops-hint">{hint}</span>
          </label>
        ))}
        <Button type="submit" className="jp-mod-styled jp-mod-accept mlops-schedule-submit">
          Add schedule
        </Button>
      </form>
    </details>
  );
}
