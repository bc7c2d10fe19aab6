/** Small pieces every sidebar section shares. */
import * as React from 'react';

import type { Note, Section } from './panel-model';

/** A section's own error: shown in that section only, so one failing request never blanks the others. */
export function SectionError(props: { error: string | null | undefined }): JSX.Element | null {
  return props.error ? (
    <p className="mlops-error mlops-section-error" role="alert">
      {props.error}
    </p>
  ) : null;
}

/**
 * A sidebar section: its heading (in a row with `actions` when the section has any, even none
 * right now), its `controls` (a filter), its own error, then its body.
 */
export function PanelSection(props: {
  className: string;
  title: string;
  error: string | null | undefined;
  actions?: React.ReactNode;
  controls?: React.ReactNode;
  children?: React.ReactNode;
}): JSX.Element {
  const heading = <h3>{props.title}</h3>;
  return (
    <section className={props.className} aria-label={props.title}>
      {props.actions !== undefined ? (
        <div className="mlops-section-head">
          {heading}
          {props.actions}
        </div>
      ) : (
        heading
      )}
      {props.controls}
      <SectionError error={props.error} />
      {props.children}
    </section>
  );
}

/**
 * A section's list, one `<li>` per item from `children`: "Loading…" until the first answer
 * (nothing more when that failed: the section shows its error), `empty` for none.
 */
export function SectionList<T>(props: {
  section: Section<readonly T[]>;
  className: string;
  empty: string;
  children: (item: T) => JSX.Element;
}): JSX.Element | null {
  const { data: items, error } = props.section;
  if (items === null) {
    return error ? null : <p className="mlops-empty">Loading…</p>;
  }
  if (items.length === 0) {
    return <p className="mlops-empty">{props.empty}</p>;
  }
  return <ul className={props.className}>{items.map(props.children)}</ul>;
}

/** The outcome of an action, next to where it was taken: a status line, or an alert when it failed. */
export function NoteLine(props: { note: Note | null; className: string }): JSX.Element | null {
  const { note } = props;
  return note ? (
    <p className={`${props.className}${note.error ? ' mlops-error' : ''}`} role={note.error ? 'alert' : 'status'}>
      {note.text}
    </p>
  ) : null;
}
