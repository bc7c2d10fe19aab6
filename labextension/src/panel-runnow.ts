/** "Run headlessly now", with a parameters form prefilled from the notebook's `parameters` cell. */
import { h } from './dom';
import { parameterLines, parseParamLines, ParsedParams } from './params';

/** The parameters form; built once and kept across re-renders, like the schedule form. */
export class RunNowForm {
  readonly node: HTMLDetailsElement;

  /** `source` gives the notebook's `parameters` cell source (or null) when the form opens untouched. */
  constructor(private readonly source: () => string | null) {
    this.input = h('textarea', {
      className: 'jp-mod-styled mlops-params-input',
      rows: 4,
      spellcheck: 'false',
      placeholder: 'n_estimators=200\nlearning_rate=0.05',
      'aria-label': 'Parameters of the headless run, one NAME=VALUE per line',
      oninput: () => {
        this.edited = true;
      }
    });
    this.node = h(
      'details',
      {
        className: 'mlops-run-params',
        ontoggle: () => {
          if (this.node.open) {
            this.prefill();
          }
        }
      },
      h('summary', {}, 'Parameters'),
      this.input,
      h('span', { className: 'mlops-hint' }, 'One NAME=VALUE per line; typed like `mlops run -p` (int, float, bool, None, text).')
    );
  }

  /** A new notebook: forget what was typed for the previous one. */
  reset(): void {
    this.edited = false;
    this.input.value = '';
    if (this.node.open) {
      this.prefill();
    }
  }

  /** The parameters to send; an empty object when the form is closed. */
  params(): ParsedParams {
    return this.node.open ? parseParamLines(this.input.value) : { params: {}, errors: [] };
  }

  private prefill(): void {
    if (!this.edited) {
      const source = this.source();
      this.input.value = source ? parameterLines(source) : '';
    }
  }

  private readonly input: HTMLTextAreaElement;
  private edited = false;
}

export function renderActions(form: RunNowForm, message: string | null, run: () => void): Node {
  return h(
    'section',
    { className: 'mlops-actions', 'aria-label': 'Run headlessly' },
    h('div', { className: 'mlops-actions-row' },
      h('button', { className: 'jp-Button jp-mod-styled jp-mod-accept mlops-run-now', onclick: () => run() }, 'Run headlessly now'),
      message ? h('span', { className: 'mlops-message', role: 'status' }, message) : null
    ),
    form.node
  );
}
