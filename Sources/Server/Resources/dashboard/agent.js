// Agent: version and uptime, the collectors under the supervisor, the plugins (bad lines, restarts, enable).

import { api } from './api.js';
import { h, replace, badge, table, message, errorText, duration, time } from './dom.js';

export async function mount(root, { can }) {
  replace(root, h('h1', { id: 'view-title' }, 'Agent'));
  const result = h('div', { id: 'action-result', 'aria-live': 'polite' });
  const about = h('div', { class: 'panel', id: 'about' });
  const collectors = h('div', { id: 'collectors' });
  const plugins = h('div', { id: 'plugins' });
  root.append(about, h('h2', {}, 'Collectors'), collectors, h('h2', {}, 'Plugins'), result, plugins);
  try {
    const health = await api('/api/v1/health');
    replace(about, h('p', {}, 'Version ', h('strong', {}, health.version), ' · status ', badge(health.status),
      ` · agent up ${duration(health.agent_uptime_seconds)} · system up ${duration(health.uptime)}`));
  } catch (error) {
    replace(about, message(errorText(error)));
  }
  try {
    const list = (await api('/api/v1/collectors')).collectors || [];
    replace(collectors, table(['Collector', 'Status', 'Restarts', 'Failures', 'Last duration', 'Last error'], list.map((c) => [
      c.name, badge(c.status), String(c.restarts ?? 0), String(c.failures ?? 0),
      lastDuration(c.last_duration_seconds), c.last_error || '—',
    ])));
  } catch (error) {
    replace(collectors, message(errorText(error)));
  }
  async function drawPlugins() {
    try {
      const answer = await api('/api/v1/plugins');
      const operator = can('operator');
      const columns = ['Plugin', 'Version', 'Status', 'Restarts', 'Series', 'Samples', 'Bad lines', 'Last sample', 'Last error'];
      if (operator) columns.push('Actions');
      const rows = (answer.plugins || []).map((p) => {
        const bad = Object.entries(p.bad_lines || {}).filter(([, n]) => n).map(([why, n]) => `${why}: ${n}`).join(', ') || '0';
        const row = [h('span', { class: 'plugin-name', dataset: { plugin: p.name } }, p.name), p.plugin_version || '—',
          h('span', { class: 'plugin-status' }, badge(p.status), p.disabled_reason ? ` ${p.disabled_reason}` : ''), String(p.restarts ?? 0),
          p.max_series ? `${p.series ?? 0} of ${p.max_series}` : String(p.series ?? 0), String(p.samples ?? 0), bad, time(p.last_sample_at),
          p.last_error && p.last_error !== p.disabled_reason ? p.last_error : '—'];
        if (operator) {
          row.push(p.status === 'disabled' ? h('button', {
            type: 'button',
            onclick: async () => {
              try {
                await api(`/api/v1/plugins/${encodeURIComponent(p.name)}/enable`, { method: 'POST' });
                replace(result, message(`${p.name} enabled`, 'success'));
              } catch (error) {
                replace(result, message(errorText(error)));
              }
              drawPlugins();
            },
          }, 'enable') : '');
        }
        return row;
      });
      const errors = (answer.manifest_errors || []).map((e) => [e.file, String(e.line ?? '—'), e.key || '—', e.message]);
      const services = (answer.plugins || []).flatMap((p) => (p.services || []).map((s) => [p.name, s.name, badge(s.state), s.message || '—', time(s.reported_at)]));
      replace(plugins, table(columns, rows, { empty: 'No plugins in plugins.d.' }),
        services.length ? h('div', { id: 'plugin-services' }, h('h2', {}, 'Services watched by plugins'), table(['Plugin', 'Service', 'State', 'Message', 'Reported'], services)) : null,
        errors.length ? h('div', {}, h('h2', {}, 'Manifests that did not load'), table(['File', 'Line', 'Key', 'Problem'], errors)) : null);
    } catch (error) {
      replace(plugins, message(errorText(error)));
    }
  }
  await drawPlugins();
  return undefined;
}

/** A collection's wall time: microseconds below a millisecond (most collectors take tens of them), else milliseconds. */
function lastDuration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  return seconds < 0.001 ? `${Math.round(seconds * 1e6)} µs` : `${(seconds * 1000).toFixed(1)} ms`;
}
