// Incidents and reports: the incident timeline (start, end, duration, peak) over 1–30 days and the daily, weekly
// and monthly reports with their capacity trends (fitted by the agent).

import { api, query } from './api.js';
import { h, replace, badge, table, message, errorText, number, duration, time } from './dom.js';

const SPANS = { '24h': 86400, '7d': 7 * 86400, '30d': 30 * 86400 };

function summaryTable(metrics) {
  return table(['Metric', 'Min', 'Avg', 'p95', 'Max', 'Samples'], Object.entries(metrics || {}).map(([name, m]) => [
    name, number(m && m.min, 2), number(m && m.avg, 2), number(m && m.p95, 2), number(m && m.max, 2), m ? m.samples ?? '—' : '—',
  ]), { empty: 'No stored figures in this period.' });
}

export async function mount(root, { params, navigate }) {
  const span = SPANS[params.get('span')] ? params.get('span') : '7d';
  const period = ['daily', 'weekly', 'monthly'].includes(params.get('report')) ? params.get('report') : 'daily';
  const timeline = h('div', { id: 'incidents' });
  const report = h('div', { id: 'report' });
  replace(root,
    h('h1', { id: 'view-title' }, 'Incidents and reports'),
    h('div', { class: 'toolbar', role: 'group', 'aria-label': 'Incident range' },
      Object.keys(SPANS).map((name) => h('button', { type: 'button', 'aria-pressed': String(name === span), onclick: () => navigate('incidents', { span: name, report: period }) }, `last ${name}`))),
    timeline,
    h('h2', {}, 'Reports'),
    h('div', { class: 'toolbar', role: 'group', 'aria-label': 'Report' },
      ['daily', 'weekly', 'monthly'].map((name) => h('button', { type: 'button', 'aria-pressed': String(name === period), onclick: () => navigate('incidents', { span, report: name }) }, name))),
    report);
  const now = Math.floor(Date.now() / 1000);
  try {
    const result = await api(`/api/v1/incidents${query({ from: now - SPANS[span], to: now })}`);
    const incidents = result.incidents || [];
    replace(timeline, table(['Rule', 'Subject', 'Severity', 'Started', 'Ended', 'Duration', 'Peak', 'Message'], incidents.map((incident) => [
      incident.rule, incident.subject || '—', badge(incident.severity), time(incident.started_at),
      incident.ended_at ? time(incident.ended_at) : h('strong', {}, 'ongoing'), duration(incident.duration_seconds),
      `${number(incident.peak_value, 2)} (threshold ${number(incident.threshold, 2)})`, incident.message || '',
    ]), { empty: `No incidents in the last ${span}.` }));
  } catch (error) {
    replace(timeline, message(errorText(error)));
  }
  try {
    const data = await api(`/api/v1/reports/${period}`);
    const incidents = data.incidents || {};
    replace(report,
      h('p', { class: 'muted' }, `${period} report, ${time(data.from)} – ${time(data.to)} (${data.from_local} – ${data.to_local}, ${data.time_zone}, ${number(data.length_seconds / 3600, 0)} h)`),
      summaryTable(data.metrics),
      h('h2', {}, 'Incidents'),
      h('p', {}, `${incidents.total ?? 0} incidents: ${incidents.critical ?? 0} critical, ${incidents.warning ?? 0} warning`),
      table(['Rule', 'Incidents'], Object.entries(incidents.by_rule || {}).map(([rule, count]) => [rule, String(count)]), { empty: 'None.' }),
      h('h2', {}, 'Service availability'),
      table(['Service', 'Availability', 'Downtime', 'Incidents'], (data.services || []).map((s) => [
        s.name, s.availability_percent === null ? '—' : `${number(s.availability_percent, 2)} %`, duration(s.downtime_seconds), String(s.incidents ?? 0),
      ]), { empty: 'No service was down in this period: every tracked service was available 100 %.' }),
      h('h2', {}, `Capacity (trend over the ${data.capacity.window} to the report's end)`),
      table(['Resource', 'Now', 'Trend per day', 'Projected 100 %'], (data.capacity.resources || []).map((r) => [
        r.resource === 'memory' ? 'memory' : r.mountpoint || r.series,
        r.current_percent === null ? '—' : `${number(r.current_percent, 1)} %`,
        r.slope_percent_per_day === null ? '—' : `${r.slope_percent_per_day >= 0 ? '+' : ''}${number(r.slope_percent_per_day, 3)} points`,
        h('span', { class: 'report-projected', dataset: { resource: r.resource === 'memory' ? 'memory' : r.mountpoint || r.series, projected: r.projected_full_at || '' } },
          r.projected_full_at ? time(r.projected_full_at) : r.fit ? 'not growing' : 'needs two hours of history'),
      ]), { empty: 'No usage history in the window.' }));
  } catch (error) {
    replace(report, message(errorText(error)));
  }
  return undefined;
}
