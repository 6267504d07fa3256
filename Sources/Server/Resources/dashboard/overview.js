// Overview: the status-simple verdict with its reasons, the headline figures, live graphs of the last 15 minutes
// (from the stream) with the alert thresholds drawn, active alerts and every tracked service.

import { api } from './api.js';
import { h, replace, badge, table, percent, number, duration, bytes, time, message, errorText } from './dom.js';
import { lineChart } from './charts.js';

const WARN = '#9a6700';
const CRIT = '#cf222e';

function thresholdLines(rule, scale = 1) {
  if (!rule) return [];
  return [
    { label: 'warning', value: rule.warning * scale, color: WARN },
    { label: 'critical', value: rule.critical * scale, color: CRIT },
  ];
}

export async function mount(root, { live }) {
  const verdict = h('div', { class: 'panel verdict', id: 'verdict' }, h('span', { class: 'muted' }, 'Loading the verdict…'));
  const figures = h('div', { class: 'figures', id: 'figures' });
  const updated = h('p', { class: 'muted', id: 'updated' });
  const alertsBox = h('div', { id: 'alerts' });
  const servicesBox = h('div', { id: 'services' });
  const graphs = h('div', { class: 'grid', id: 'graphs' });
  replace(root,
    h('h1', { id: 'view-title' }, 'Overview'),
    verdict, figures, updated,
    h('h2', {}, 'Last 15 minutes'), graphs,
    h('h2', {}, 'Active alerts'), alertsBox,
    h('h2', {}, 'Services'), servicesBox);

  let rules = {};
  try {
    rules = (await api('/api/v1/alerts/rules')).rules || {};
  } catch (error) {
    graphs.before(message(`Alert thresholds unavailable: ${errorText(error)}`));
  }
  const cores = live.status && live.status.system_info && live.status.system_info.cpu ? live.status.system_info.cpu.cores : null;
  const loadScale = rules.load && rules.load.per_core && cores ? cores : 1;
  const charts = {
    cpu: lineChart({ id: 'cpu', title: 'CPU usage', unit: ' %', min: 0, max: 100, series: [{ label: 'CPU %' }], thresholds: thresholdLines(rules.cpu) }),
    memory: lineChart({ id: 'memory', title: 'Memory usage', unit: ' %', min: 0, max: 100, series: [{ label: 'memory %' }], thresholds: thresholdLines(rules.memory) }),
    disk: lineChart({ id: 'disk', title: 'Disk usage (/)', unit: ' %', min: 0, max: 100, series: [{ label: 'disk %' }], thresholds: thresholdLines(rules.disk) }),
    load: lineChart({ id: 'load', title: 'Load average', min: 0, series: [{ label: '1 min' }, { label: '5 min' }, { label: '15 min' }], thresholds: thresholdLines(rules.load, loadScale) }),
    network: lineChart({ id: 'network', title: 'Network (all interfaces but loopback)', min: 0, series: [{ label: 'received B/s' }, { label: 'sent B/s' }] }),
    temperature: lineChart({ id: 'temperature', title: 'CPU temperature', unit: ' °C', series: [{ label: '°C' }] }),
  };
  graphs.append(...Object.values(charts).map((chart) => chart.element));

  function drawGraphs() {
    const points = live.points;
    const last = points.length ? points[points.length - 1].t : Date.now() / 1000;
    const range = [last - live.window, last];
    const pick = (key) => points.filter((p) => p[key] !== null && p[key] !== undefined).map((p) => [p.t, p[key]]);
    charts.cpu.set([pick('cpu')], range);
    charts.memory.set([pick('memory')], range);
    charts.disk.set([pick('disk')], range);
    charts.load.set([pick('load1'), pick('load5'), pick('load15')], range);
    charts.network.set([pick('rx'), pick('tx')], range);
    charts.temperature.set([pick('temperature')], range);
    // Time to first render: the benchmark reads this mark (navigation start to the first chart with data on screen).
    if (points.length && !performance.getEntriesByName('viworks:first-chart').length) {
      requestAnimationFrame(() => {
        if (!performance.getEntriesByName('viworks:first-chart').length) performance.mark('viworks:first-chart');
      });
    }
  }

  function drawFigures(status) {
    if (!status) return;
    const health = status.system_health || {};
    const load = health.load_average || {};
    const memory = (status.system_info && status.system_info.memory) || {};
    const figure = (id, label, value) => h('div', { class: 'figure', id: `fig-${id}` }, h('div', { class: 'label' }, label), h('div', { class: 'value', dataset: { value: value[1] ?? '' } }, value[0]));
    replace(figures,
      figure('cpu', 'CPU', [percent(health.cpu_usage_percent), health.cpu_usage_percent]),
      figure('memory', 'Memory', [percent(health.memory_usage_percent), health.memory_usage_percent]),
      figure('disk', 'Disk (/)', [percent(health.disk_usage_percent), health.disk_usage_percent]),
      figure('load', 'Load 1 / 5 / 15', [`${number(load.one_minute, 2)} / ${number(load.five_minutes, 2)} / ${number(load.fifteen_minutes, 2)}`, load.one_minute]),
      figure('uptime', 'Uptime', [duration(health.uptime_seconds), health.uptime_seconds]),
      figure('temperature', 'Temperature', [health.temperature === null || health.temperature === undefined ? '—' : `${number(health.temperature)} °C`, health.temperature]),
      figure('memory-used', 'Memory used', [memory.used_bytes !== undefined ? `${bytes(memory.used_bytes)} of ${bytes(memory.total_bytes)}` : '—', memory.used_bytes]));
    updated.textContent = `Collected at ${time(status.timestamp)}`;
    updated.dataset.timestamp = status.timestamp;
    const services = status.services || [];
    replace(servicesBox, table(['Service', 'Status', 'PID', 'CPU', 'Memory'], services.map((service) => [
      service.name, badge(service.status), service.pid ?? '—', percent(service.cpu_percent), bytes(service.memory_bytes),
    ]), { empty: 'No tracked services.' }));
  }

  // The verdict arrives with every collection on the stream (`status-simple`); fetched only until the first one.
  async function drawVerdict(event) {
    try {
      const simple = event ? event.detail : live.simple || await api('/api/v1/status-simple');
      replace(verdict,
        h('div', {}, h('span', { class: 'muted' }, 'Status '), badge(simple.status)),
        simple.reasons && simple.reasons.length
          ? h('ul', { class: 'reasons' }, simple.reasons.map((reason) => h('li', {}, reason)))
          : h('span', { class: 'muted' }, 'Nothing to report.'));
      verdict.dataset.status = simple.status;
    } catch (error) {
      replace(verdict, message(errorText(error)));
    }
  }

  function drawAlerts(document) {
    const alerts = (document && document.alerts) || [];
    replace(alertsBox, table(['Rule', 'Subject', 'Severity', 'Value', 'Threshold', 'Since'], alerts.map((alert) => [
      alert.rule, alert.subject || '—', badge(alert.severity), number(alert.value, 2), number(alert.threshold, 2), time(alert.since),
    ]), { empty: 'No active alerts.' }));
  }

  drawFigures(live.status);
  drawGraphs();
  await drawVerdict();
  try {
    drawAlerts(live.alerts || await api('/api/v1/alerts'));
  } catch (error) {
    replace(alertsBox, message(errorText(error)));
  }
  if (!live.status) {
    try { drawFigures(await api('/api/v1/status')); } catch (error) { replace(figures, message(errorText(error))); }
  }

  const onStatus = (event) => {
    drawFigures(event.detail);
    drawGraphs();
  };
  const onAlerts = (event) => drawAlerts(event.detail);
  live.addEventListener('status', onStatus);
  live.addEventListener('status-simple', drawVerdict);
  live.addEventListener('alerts', onAlerts);
  return () => {
    live.removeEventListener('status', onStatus);
    live.removeEventListener('status-simple', drawVerdict);
    live.removeEventListener('alerts', onAlerts);
    Object.values(charts).forEach((chart) => chart.destroy());
  };
}
