// Services: every tracked service with its status in words, PID, since, restarts, CPU, memory and probe; operators
// get start, stop and restart (confirmed first, the agent's answer shown).

import { api } from './api.js';
import { h, replace, badge, table, message, errorText, percent, bytes, time, confirm } from './dom.js';

export async function mount(root, { live, can }) {
  const result = h('div', { id: 'action-result', 'aria-live': 'polite' });
  const list = h('div', { id: 'service-list' });
  replace(root, h('h1', { id: 'view-title' }, 'Services'), result, list);
  let shown = '';
  let busy = false;

  async function act(name, action) {
    busy = true;
    try {
      if (await confirm(`${action[0].toUpperCase()}${action.slice(1)} ${name}?`)) await run(name, action);
    } finally {
      busy = false;
    }
  }

  async function run(name, action) {
    replace(result, message(`${action} ${name}…`, 'success'));
    try {
      const answer = await api(`/api/v1/services/${encodeURIComponent(name)}/${action}`, { method: 'POST' });
      replace(result, message(`${action} ${name}: ${answer.active_state || 'done'}${answer.sub_state ? ` (${answer.sub_state})` : ''}, PID ${answer.pid ?? '—'}`, 'success'));
    } catch (error) {
      replace(result, message(`${action} ${name} failed: ${errorText(error)}`));
    }
    try {
      draw((await api('/api/v1/services')).services || [], true);
    } catch (error) {
      replace(list, message(errorText(error)));
    }
  }

  function draw(services, force = false) {
    // Redrawn only when something shown changed, and never under an open confirmation or a running action.
    const signature = JSON.stringify(services.map((s) => [s.name, s.status, s.pid, s.since, s.restarts, s.cpu_percent, s.memory_bytes, s.probe]));
    if (!force && (signature === shown || busy || document.getElementById('confirm').open)) return;
    shown = signature;
    const operator = can('operator');
    const columns = ['Service', 'Status', 'PID', 'Since', 'Restarts', 'CPU', 'Memory', 'Probe'];
    if (operator) columns.push('Actions');
    replace(list, table(columns, services.map((service) => {
      const probe = service.probe ? `${service.probe.ok ? 'ok' : 'failed'} (${service.probe.kind} ${service.probe.target})${service.probe.detail ? `: ${service.probe.detail}` : ''}` : '—';
      const row = [
        h('strong', {}, service.name), badge(service.status), service.pid ?? '—', time(service.since), String(service.restarts ?? '—'),
        percent(service.cpu_percent), bytes(service.memory_bytes), probe,
      ];
      if (operator) {
        row.push(h('div', { class: 'actions' }, ['start', 'stop', 'restart'].map((action) => h('button', {
          type: 'button', class: action === 'start' ? '' : 'danger', dataset: { action, service: service.name },
          onclick: () => act(service.name, action),
        }, action))));
      }
      return row;
    }), { empty: 'No tracked services ([services] in the configuration).' }));
  }

  try {
    draw((await api('/api/v1/services')).services || []);
  } catch (error) {
    replace(list, message(errorText(error)));
  }
  const onStatus = (event) => draw(event.detail.services || []);
  live.addEventListener('status', onStatus);
  return () => live.removeEventListener('status', onStatus);
}
