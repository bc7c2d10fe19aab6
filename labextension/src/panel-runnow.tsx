/** "Run headlessly now", with a parameters form prefilled from the notebook's `parameters` cell. */
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import { parameterLines, parseParamLines, ParsedParams } from './params';
import type { Note } from './panel-model';

/** What the form holds: read by the run-now command as well as the button. */
export class RunNowForm {
  open = false;
  text = '';
  edited = false;

  /** The parameters to send; none when the form is closed. */
  params(): ParsedParams {
    return this.open ? parseParamLines(this.text) : { params: {}, errors: [] };
  }
}

export function RunNowSection(props: {
  form: RunNowForm;
  message: Note | null;
  /** The notebook's `parameters` cell source, or null. */
  parametersSource(): string | null;
  run(): void;
}): JSX.Element {
  const { form } = props;
  const [text, setText] = React.useState(form.text);
  const details = React.useRef<HTMLDetailsElement>(null);
  const onToggle = () => {
    form.open = !!details.current?.open;
    if (form.open && !form.edited) {
      const source = props.parametersSource();
      form.text = source ? parameterLines(source) : '';
      setText(form.text);
    }
  };
  return (
    <section className="mlops-actions" aria-label="Run headlessly">
      <div className="mlops-actions-row">
        <Button className="jp-mod-styled jp-mod-accept mlops-run-now" onClick={props.run}>
          Run headlessly now
        </Button>
        {props.message ? (
          <span className={`mlops-message${props.message.error ? ' mlops-error-text' : ''}`} role="status">
            {props.message.text}
          </span>
        ) : null}
      </div>
      <details className="mlops-run-params" ref={details} onToggle={onToggle}>
        <summary>Parameters</summary>
        <textarea
          className="jp-mod-styled mlops-params-input"
          rows={4}
          spellCheck={false}
          placeholder={'n_estimators=200\nlearning_rate=0.05'}
          aria-label="Parameters of the headless run, one NAME=VALUE per line"
          value={text}
          onChange={e => {
            form.edited = true;
            form.text = e.currentTarget.value;
            setText(form.text);
          }}
        />
        <span className="mlops-hint">One NAME=VALUE per line; typed like `mlops run -p` (int, float, nan, inf, bool, None, text).</span>
      </details>
    </section>
  );
}
