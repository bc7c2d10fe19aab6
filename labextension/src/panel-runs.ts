/** The Runs section (a filterable, paginated list) and a run's detail. */
import { MetricPoint, Run, RunDetail, RunsPage } from './api';
import { h, sparkline } from './dom';
import { formatAgo, formatDuration, formatValue, sparklinePoints, statusClass } from './format';

export const PAGE_SIZE = 20;
export const STATUSES = ['', 'queued', 'running', 'succeeded', 'failed', 'timed-out', 'killed'];

export interface RunsActions {
  filter(status: string): void;
  page(offset: number): void;
  open(runId: string): void;
}

export function renderRuns(page: RunsPage | null, status: string, on: RunsActions): Node {
  const section = h('section', { className: 'mlops-runs', 'aria-label': 'Runs' }, h('h3', {}, 'Runs'));
  section.append(
    h(
      'select',
      {
        className: 'jp-mod-styled mlops-status-filter',
        'aria-label': 'Filter runs by status',
        onchange: (event: Event) => on.filter((event.target as HTMLSelectElement).value)
      },
      ...STATUSES.map(s => h('option', { value: s, selected: s === status }, s || 'any status'))
    )
  );
  if (!page) {
    return section;
  }
  if (page.runs.length === 0) {
    section.append(h('p', { className: 'mlops-empty' }, 'No runs yet: run a stage cell, or run headlessly.'));
    return section;
  }
  const list = h('ul', { className: 'mlops-run-list' });
  for (const run of page.runs) {
    list.append(renderRunRow(run, on));
  }
  section.append(list, renderPager(page, on));
  return section;
}

function renderRunRow(run: Run, on: RunsActions): Node {
  const metrics = Object.entries(run.metrics ?? {}).slice(0, 2);
  return h(
    'li',
    {},
    h(
      'button',
      {
        className: `mlops-run-row ${statusClass(run.status)}`,
        'data-run-id': run.id,
        title: `Run ${run.id}: ${run.status}`,
        onclick: () => on.open(run.id)
      },
      h('span', { className: 'mlops-run-id' }, run.id.slice(0, 8)),
      h('span', { className: 'mlops-status' }, run.status),
      h('span', { className: 'mlops-trigger' }, run.trigger),
      h('span', { className: 'mlops-ago' }, formatAgo(run.started)),
      h('span', { className: 'mlops-duration' }, formatDuration(run.duration)),
      h('span', { className: 'mlops-metrics' }, metrics.map(([k, v]) => `${k}=${formatValue(v)}`).join(' '))
    )
  );
}

function renderPager(page: RunsPage, on: RunsActions): Node {
  const first = page.total === 0 ? 0 : page.offset + 1;
  const last = page.offset + page.runs.length;
  return h(
    'nav',
    { className: 'mlops-pager', 'aria-label': 'Run pages' },
    h(
      'button',
      { className: 'jp-Button jp-mod-minimal', disabled: page.offset === 0, onclick: () => on.page(page.offset - PAGE_SIZE) },
      '‹ Newer'
    ),
    h('span', {}, `${first}–${last} of ${page.total}`),
    h(
      'button',
      {
        className: 'jp-Button jp-mod-minimal',
        disabled: page.next_offset === null,
        onclick: () => on.page(page.next_offset ?? 0)
      },
      'Older ›'
    )
  );
}

export interface DetailActions {
  back(): void;
  openFile(path: string): void;
  artifactUrl(runId: string, name: string): string;
  reportUrl(runId: string): string;
}

export function renderDetail(detail: RunDetail, series: Record<string, MetricPoint[]>, on: DetailActions): Node {
  const run = detail;
  const section = h(
    'section',
    { className: 'mlops-detail', 'aria-label': `Run ${run.id}` },
    h('button', { className: 'jp-Button jp-mod-minimal mlops-detail-back', onclick: () => on.back() }, '‹ All runs'),
    h('h3', {}, `Run ${run.id.slice(0, 8)}`),
    h(
      'dl',
      { className: 'mlops-facts' },
      h('dt', {}, 'status'),
      h('dd', { className: statusClass(run.status) }, run.status),
      h('dt', {}, 'trigger'),
      h('dd', {}, run.trigger),
      h('dt', {}, 'started'),
      h('dd', { title: run.started }, formatAgo(run.started)),
      h('dt', {}, 'duration'),
      h('dd', {}, formatDuration(run.duration))
    )
  );
  if (run.error) {
    section.append(h('pre', { className: 'mlops-error' }, run.error));
  }
  const params = Object.entries(run.params ?? {});
  if (params.length) {
    const table = h('table', { className: 'mlops-params' }, h('caption', {}, 'Parameters'));
    for (const [k, v] of params) {
      table.append(h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, formatValue(v))));
    }
    section.append(table);
  }
  if (detail.stages.length) {
    const list = h('ol', { className: 'mlops-stages' });
    for (const s of detail.stages) {
      list.append(
        h(
          'li',
          { className: `mlops-stage ${statusClass(s.status)}` },
          h('span', { className: 'mlops-kind' }, s.kind),
          h('span', { className: 'mlops-stage-name' }, s.name === s.kind ? '' : s.name),
          h('span', { className: 'mlops-status' }, s.status),
          h('span', { className: 'mlops-duration' }, formatDuration(s.duration))
        )
      );
    }
    section.append(h('h4', {}, 'Stages'), list);
  }
  const metrics = Object.entries(detail.metrics_latest ?? {});
  if (metrics.length) {
    const charts = h('div', { className: 'mlops-charts' });
    for (const [key, latest] of metrics) {
      const points = series[key];
      charts.append(
        h(
          'figure',
          { className: 'mlops-chart' },
          points && points.length > 1 ? sparkline(sparklinePoints(points, 120, 28), 120, 28, `${key} over steps`) : null,
          h('figcaption', {}, `${key} = ${formatValue(latest.value)} (step ${latest.step})`)
        )
      );
    }
    section.append(h('h4', {}, 'Metrics'), charts);
  }
  if (detail.artifacts.length) {
    const list = h('ul', { className: 'mlops-artifacts' });
    for (const a of detail.artifacts) {
      list.append(h('li', {}, h('a', { href: on.artifactUrl(run.id, a.name), download: a.name }, a.name), ` ${a.size} B`));
    }
    section.append(h('h4', {}, 'Artifacts'), list);
  }
  if (run.notebook_path) {
    const nb = run.notebook_path;
    section.append(h('button', { className: 'jp-Button jp-mod-styled', onclick: () => on.openFile(nb) }, 'Open notebook'));
  }
  // The report opens in a browser tab, served sandboxed by the server (no scripts run in it).
  section.append(
    h(
      'a',
      { className: 'mlops-report-link', href: on.reportUrl(run.id), target: '_blank', rel: 'noopener noreferrer' },
      'Open report'
    )
  );
  return section;
}
