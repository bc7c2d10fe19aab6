/**
 * A metric over steps as an SVG line chart with axes, ticks and a legend: one line per run; or, with
 * `against` (a parameter's name), a metric against that parameter, one dot per run. Transparent, and every colour a JupyterLab CSS variable (runs-view.css), so it follows the theme.
 */
import * as React from 'react';

import { formatNumber, niceTicks, stepTicks } from './model';

export interface ChartSeries {
  label: string;
  points: { step: number; value: number }[];
}

const W = 520;
const H = 240;
const M = { left: 58, right: 14, top: 12, bottom: 40 };

/** `points[].step` is the x value: the step, or the parameter's value when the chart is `against` one. */
export function MetricChart({ metric, series, against }: { metric: string; series: ChartSeries[]; against?: string }): JSX.Element {
  const all = series.flatMap(s => s.points).filter(p => Number.isFinite(p.value));
  if (!all.length) {
    return <p className="mlops-rv-note">No finite values of {metric} to draw.</p>;
  }
  const steps = all.map(p => p.step);
  const values = all.map(p => p.value);
  const xTicks = (against ? niceTicks : stepTicks)(Math.min(...steps), Math.max(...steps));
  const xName = against ?? 'step';
  const yTicks = niceTicks(Math.min(...values), Math.max(...values));
  const [x0, x1] = [xTicks[0], xTicks[xTicks.length - 1]];
  const [y0, y1] = [yTicks[0], yTicks[yTicks.length - 1]];
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const x = (s: number) => M.left + ((s - x0) / (x1 - x0 || 1)) * plotW;
  const y = (v: number) => M.top + plotH - ((v - y0) / (y1 - y0 || 1)) * plotH;
  return (
    <figure className="mlops-rv-chart" data-metric={metric} data-against={against}>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={against ? `${metric} against ${against}, one dot per run` : `${metric} over steps, one line per run`}>
        <g className="mlops-rv-grid-lines">
          {yTicks.map(t => (
            <line key={t} x1={M.left} x2={W - M.right} y1={y(t)} y2={y(t)} />
          ))}
        </g>
        <g className="mlops-rv-axis mlops-rv-axis-y">
          <line x1={M.left} x2={M.left} y1={M.top} y2={M.top + plotH} />
          {yTicks.map(t => (
            <text key={t} x={M.left - 6} y={y(t)} dy="0.32em" textAnchor="end">
              {formatNumber(t)}
            </text>
          ))}
        </g>
        <g className="mlops-rv-axis mlops-rv-axis-x">
          <line x1={M.left} x2={W - M.right} y1={M.top + plotH} y2={M.top + plotH} />
          {xTicks.map(t => (
            <g key={t}>
              <line x1={x(t)} x2={x(t)} y1={M.top + plotH} y2={M.top + plotH + 4} />
              <text x={x(t)} y={M.top + plotH + 16} textAnchor="middle">
                {against ? formatNumber(t) : t}
              </text>
            </g>
          ))}
          <text className="mlops-rv-axis-title" x={M.left + plotW / 2} y={H - 4} textAnchor="middle">
            {xName}
          </text>
        </g>
        {series.map((s, i) => {
          const pts = s.points.filter(p => Number.isFinite(p.value));
          const d = pts.map((p, j) => `${j ? 'L' : 'M'}${x(p.step).toFixed(1)},${y(p.value).toFixed(1)}`).join('');
          return (
            <g key={s.label} className={`mlops-rv-series mlops-rv-series-${i % 6}`} data-run={s.label}>
              {pts.length > 1 && !against ? <path d={d} /> : null}
              {pts.length <= 60
                ? pts.map(p => (
                    <circle key={p.step} cx={x(p.step)} cy={y(p.value)} r={against ? 4 : 2.5}>
                      <title>{`${s.label} ${xName} ${formatNumber(p.step)}: ${formatNumber(p.value)}`}</title>
                    </circle>
                  ))
                : null}
            </g>
          );
        })}
      </svg>
      <figcaption className="mlops-rv-legend">
        {series.map((s, i) => (
          <span key={s.label} className={`mlops-rv-series-${i % 6}`}>
            <span className="mlops-rv-swatch" aria-hidden="true" />
            {s.label}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
