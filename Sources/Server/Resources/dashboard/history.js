// History: any stored series over 1 h / 24 h / 7 d / 30 d or a custom range, as min, avg and max per bucket. The API
// chooses the tier (raw, minute, hour) from the step and the retentions; the page shows which one answered.

import { api, query } from './api.js';
import { h, replace, message, errorText, number } from './dom.js';
import { lineChart } from './charts.js';

const RANGES = { '1h': 3600, '24h': 86400, '7d': 7 * 86400, '30d': 30 * 86400 };
// About 360 points per range; steps in whole minutes past an hour so the rollup tiers can answer.
const STEPS = { '1h': 10, '24h': 240, '7d': 1800, '30d': 7200 };

function seriesKey(item) {
  const labels = Object.entries(item.labels || {}).map(([k, v]) => `${k}=${v}`);
  return labels.length ? `${item.name}{${labels.join(',')}}` : item.name;
}

function localInput(seconds) {
  const date = new Date(seconds * 1000);
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export async function mount(root, { params, navigate }) {
  replace(root, h('h1', { id: 'view-title' }, 'History'));
  let list;
  try {
    list = (await api('/api/v1/metrics')).series || [];
  } catch (error) {
    root.append(message(errorText(error)));
    return undefined;
  }
  const keys = list.map((item) => ({ key: seriesKey(item), item })).sort((a, b) => a.key.localeCompare(b.key));
  const selected = params.get('series') || (keys.find((k) => k.key === 'viworks_cpu_usage_percent') || keys[0] || {}).key;
  const range = params.get('range') || '24h';
  const now = Math.floor(Date.now() / 1000);
  let from = Number(params.get('from')) || now - (RANGES[range] || 86400);
  let to = Number(params.get('to')) || now;
  if (range !== 'custom') { from = now - RANGES[range]; to = now; }

  const select = h('select', { id: 'series', 'aria-label': 'Series' }, keys.map(({ key }) => h('option', { value: key, selected: key === selected }, key)));
  select.addEventListener('change', () => navigate('history', { series: select.value, range }));
  const buttons = Object.keys(RANGES).map((name) => h('button', {
    type: 'button', 'aria-pressed': String(name === range), dataset: { range: name },
    onclick: () => navigate('history', { series: select.value, range: name }),
  }, name));
  const fromInput = h('input', { type: 'datetime-local', id: 'from', value: localInput(from), 'aria-label': 'From' });
  const toInput = h('input', { type: 'datetime-local', id: 'to', value: localInput(to), 'aria-label': 'To' });
  const apply = h('button', {
    type: 'button', id: 'apply-range',
    onclick: () => {
      const start = Math.floor(new Date(fromInput.value).getTime() / 1000);
      const end = Math.floor(new Date(toInput.value).getTime() / 1000);
      if (Number.isFinite(start) && Number.isFinite(end) && start < end) navigate('history', { series: select.value, range: 'custom', from: start, to: end });
    },
  }, 'Show range');
  const zoomIn = h('button', {
    type: 'button', id: 'zoom-in', title: 'Half the range around its middle',
    onclick: () => {
      const middle = (from + to) / 2;
      const half = Math.max(60, (to - from) / 4);
      navigate('history', { series: select.value, range: 'custom', from: Math.floor(middle - half), to: Math.floor(middle + half) });
    },
  }, 'Zoom in');
  const zoomOut = h('button', {
    type: 'button', id: 'zoom-out',
    onclick: () => {
      const span = to - from;
      navigate('history', { series: select.value, range: 'custom', from: Math.floor(from - span / 2), to: Math.min(now, Math.floor(to + span / 2)) });
    },
  }, 'Zoom out');
  const summary = h('div', { class: 'figures', id: 'summary' });
  const info = h('p', { class: 'muted', id: 'plan' });
  const chartBox = h('div');
  root.append(
    h('div', { class: 'toolbar' }, h('label', { class: 'grow' }, 'Series ', select)),
    h('div', { class: 'toolbar', role: 'group', 'aria-label': 'Range' }, buttons, fromInput, toInput, apply, zoomIn, zoomOut),
    summary, info, chartBox);
  if (!selected) {
    chartBox.append(message('No stored series yet.', 'success'));
    return undefined;
  }
  const entry = keys.find((k) => k.key === selected);
  if (!entry) {
    chartBox.append(message(`No stored series ${selected}.`));
    return undefined;
  }
  const span = to - from;
  const step = range === 'custom' ? Math.max(60, Math.ceil(span / 360 / 60) * 60) : STEPS[range];
  const labels = Object.entries(entry.item.labels || {}).map(([k, v]) => `${k}=${v}`);
  const fetchAgg = (agg) => api(`/api/v1/metrics/${encodeURIComponent(entry.item.name)}/history${query({ from, to, step, agg, label: labels })}`);
  let results;
  try {
    results = await Promise.all(['min', 'avg', 'max'].map(fetchAgg));
  } catch (error) {
    chartBox.append(message(errorText(error)));
    return undefined;
  }
  const points = results.map((result) => ((result.series || [])[0] || { points: [] }).points);
  const chart = lineChart({
    id: 'history', title: selected, tall: true,
    series: [{ label: 'min', color: '#1a7f37' }, { label: 'avg', color: '#0969da', width: 2 }, { label: 'max', color: '#cf222e' }],
  });
  chartBox.append(chart.element);
  chart.set(points, [from, to]);
  const values = (index) => points[index].map(([, v]) => v);
  const mins = values(0);
  const avgs = values(1);
  const maxs = values(2);
  const figure = (id, label, value) => h('div', { class: 'figure', id }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, value));
  replace(summary,
    figure('summary-min', 'Minimum', mins.length ? number(Math.min(...mins), 2) : '—'),
    figure('summary-avg', 'Average of buckets', avgs.length ? number(avgs.reduce((a, b) => a + b, 0) / avgs.length, 2) : '—'),
    figure('summary-max', 'Maximum', maxs.length ? number(Math.max(...maxs), 2) : '—'),
    figure('summary-points', 'Buckets', String(avgs.length)));
  info.textContent = `Tier ${results[1].tier}, step ${results[1].step} s, ${new Date(from * 1000).toLocaleString()} – ${new Date(to * 1000).toLocaleString()}`;
  info.dataset.tier = results[1].tier;
  return () => chart.destroy();
}
