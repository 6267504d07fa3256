// Line charts drawn by Chart.js (vendored chart.min.js, loaded before the modules as the global `Chart`).
// x values are Unix seconds on a linear axis, labelled as local times.

import { h } from './dom.js';

const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
export const palette = ['#0969da', '#bf3989', '#1a7f37', '#9a6700', '#8250df', '#cf222e'];

function timeLabel(seconds, span) {
  const date = new Date(seconds * 1000);
  if (span > 3 * 86400) return date.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
  if (span > 86400) return date.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  return date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: span <= 3600 ? '2-digit' : undefined });
}

/**
 * A chart in a new container. series: [{label, color, dashed, fill}], thresholds: [{label, value, color}].
 * Returns {element, chart, set(seriesData, range)} where seriesData is one [[x, y], ...] array per series.
 */
export function lineChart({ title, series, thresholds = [], unit = '', min, max, tall = false, id }) {
  const canvas = h('canvas', { role: 'img', 'aria-label': title, id: id ? `chart-${id}` : undefined });
  const holder = h('div', { class: tall ? 'chart-tall' : 'chart' }, canvas);
  const element = h('figure', { class: 'panel', dataset: { chart: id || title, points: '0' } },
    h('figcaption', {}, h('strong', {}, title)), holder);
  const datasets = series.map((item, index) => ({
    label: item.label,
    data: [],
    borderColor: item.color || palette[index % palette.length],
    backgroundColor: item.fillColor || 'transparent',
    fill: item.fill || false,
    borderDash: item.dashed ? [6, 4] : undefined,
    borderWidth: item.width || 1.5,
    pointRadius: item.points ? 2 : 0,
    showLine: item.showLine !== false,
    spanGaps: false,
    tension: 0,
    parsing: false,
  }));
  for (const threshold of thresholds) {
    datasets.push({
      label: `${threshold.label} ${threshold.value}${unit}`, data: [], borderColor: threshold.color, borderDash: [4, 4],
      borderWidth: 1, pointRadius: 0, fill: false, parsing: false, threshold: threshold.value,
    });
  }
  let span = 900;
  const chart = new window.Chart(canvas, {
    type: 'line',
    data: { datasets },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      normalized: true,
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      scales: {
        x: { type: 'linear', grid: { color: css('--grid') }, ticks: { color: css('--muted'), maxTicksLimit: 5, maxRotation: 0, callback: (value) => timeLabel(value, span) } },
        y: { min, max, grid: { color: css('--grid') }, ticks: { color: css('--muted'), callback: (value) => `${value}${unit}` } },
      },
      plugins: {
        legend: { labels: { color: css('--fg'), boxWidth: 10, font: { size: 11 } } },
        tooltip: { callbacks: { title: (items) => (items.length ? new Date(items[0].parsed.x * 1000).toLocaleString() : '') } },
      },
    },
  });

  function set(data, range) {
    let count = 0;
    series.forEach((_, index) => {
      const points = (data[index] || []).map(([x, y]) => ({ x, y }));
      chart.data.datasets[index].data = points;
      // A line needs two points: one or two alone are drawn as dots, or they would not show at all.
      chart.data.datasets[index].pointRadius = series[index].points || points.length < 3 ? 2 : 0;
      count = Math.max(count, points.length);
    });
    const xs = data.flat().map(([x]) => x);
    const from = range ? range[0] : Math.min(...xs);
    const to = range ? range[1] : Math.max(...xs);
    span = Number.isFinite(to - from) ? to - from : 900;
    if (range) {
      chart.options.scales.x.min = range[0];
      chart.options.scales.x.max = range[1];
    }
    for (const dataset of chart.data.datasets.slice(series.length)) {
      dataset.data = Number.isFinite(from) && Number.isFinite(to) ? [{ x: from, y: dataset.threshold }, { x: to, y: dataset.threshold }] : [];
    }
    chart.update('none');
    element.dataset.points = String(count);
  }

  return { element, chart, set, destroy: () => chart.destroy() };
}
