// Capacity: per filesystem and for memory, the hourly averages over 7 or 30 days, the least-squares line the agent
// fitted through them and the date it reaches 100 % (computed by the agent: GET /api/v1/capacity).

import { api } from './api.js';
import { h, replace, message, errorText, number, time, table } from './dom.js';
import { lineChart } from './charts.js';

export async function mount(root, { params, navigate }) {
  const period = params.get('window') === '7d' ? '7d' : '30d';
  replace(root,
    h('h1', { id: 'view-title' }, 'Capacity'),
    h('div', { class: 'toolbar', role: 'group', 'aria-label': 'Window' },
      ['7d', '30d'].map((name) => h('button', { type: 'button', 'aria-pressed': String(name === period), onclick: () => navigate('capacity', { window: name }) }, `last ${name}`))));
  let report;
  try {
    report = await api(`/api/v1/capacity?window=${period}`);
  } catch (error) {
    root.append(message(errorText(error)));
    return undefined;
  }
  const resources = report.resources || [];
  const name = (r) => (r.resource === 'memory' ? 'memory' : r.mountpoint || r.series);
  root.append(table(['Resource', 'Now', 'Trend per day', 'Projected 100 %', 'In'], resources.map((r) => [
    name(r),
    r.current_percent === null ? '—' : `${number(r.current_percent, 1)} %`,
    r.slope_percent_per_day === null ? '—' : `${r.slope_percent_per_day >= 0 ? '+' : ''}${number(r.slope_percent_per_day, 3)} points`,
    h('span', { class: 'projected', dataset: { resource: name(r), projected: r.projected_full_at || '' } }, r.projected_full_at ? time(r.projected_full_at) : r.fit ? 'not growing' : 'needs two hours of history'),
    r.days_to_full === null ? '—' : `${number(r.days_to_full, 1)} days`,
  ]), { empty: 'No usage history yet: capacity needs at least two hours of stored history.' }));
  const charts = [];
  const grid = h('div', { class: 'grid' });
  root.append(grid);
  for (const r of resources) {
    const chart = lineChart({
      id: `capacity-${name(r)}`, title: `${r.resource === 'memory' ? 'Memory' : `Filesystem ${name(r)}`}`, unit: ' %', min: 0,
      series: [{ label: 'hourly average', points: false }, { label: 'least-squares trend', dashed: true, color: '#8250df' }],
      thresholds: [{ label: 'full', value: 100, color: '#cf222e' }],
    });
    grid.append(chart.element);
    // The agent's line, drawn on to the date it reaches 100 % (a point of the same line), at most a year ahead.
    const start = Date.parse(report.from) / 1000;
    let end = Date.parse(report.to) / 1000;
    const fit = r.fit ? [r.fit.start, r.fit.end] : [];
    const full = r.projected_full_at ? Date.parse(r.projected_full_at) / 1000 : null;
    if (full && full > end && full - end < 366 * 86400) {
      fit.push([full, 100]);
      end = full;
    }
    chart.set([r.points, fit], [start, end]);
    charts.push(chart);
  }
  return () => charts.forEach((chart) => chart.destroy());
}
