// Sessions: the agent's container sessions (GET /api/v1/sessions) with username, port and resource use; operators
// create one from a configured template, stop, start and delete them.

import { api } from './api.js';
import { h, replace, badge, table, message, errorText, bytes, time, confirm, percent } from './dom.js';

export async function mount(root, { can, live }) {
  const result = h('div', { id: 'action-result', 'aria-live': 'polite' });
  const list = h('div', { id: 'session-list' });
  const operator = can('operator');
  replace(root, h('h1', { id: 'view-title' }, 'Sessions'), result);

  async function run(label, request) {
    replace(result, message(`${label}…`, 'success'));
    try {
      const answer = await request();
      replace(result, message(`${label}: ${answer && answer.status ? answer.status : 'done'}${answer && answer.port ? `, port ${answer.port}` : ''}`, 'success'));
    } catch (error) {
      replace(result, message(`${label} failed: ${errorText(error)}`));
    }
    await load();
  }

  if (operator) {
    const username = h('input', { name: 'username', required: true, autocomplete: 'off', pattern: '[a-z_][a-z0-9_.-]{0,31}' });
    const template = h('input', { name: 'template', required: true, autocomplete: 'off' });
    const form = h('form', { class: 'inline panel', id: 'create-session' },
      h('label', {}, 'Username', username), h('label', {}, 'Template', template),
      h('button', { type: 'submit', class: 'primary' }, 'Create session'));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      run(`create a session for ${username.value}`, () => api('/api/v1/sessions', { method: 'POST', body: { username: username.value, template: template.value } }));
    });
    root.append(form);
  }
  root.append(list);

  async function load() {
    let sessions;
    let engine;
    try {
      const answer = await api('/api/v1/sessions');
      sessions = Array.isArray(answer) ? answer : answer.sessions || [];
      engine = answer.engine;
    } catch (error) {
      replace(list, message(error.status === 404 ? 'This agent has no session support (no /api/v1/sessions).' : errorText(error)));
      return;
    }
    // Resource use from the latest status (the containers section, by session id).
    const usage = new Map(((live.status && live.status.containers) || []).filter((c) => c.session_id).map((c) => [c.session_id, c]));
    const columns = ['Session', 'User', 'Template', 'Status', 'Port', 'CPU', 'Memory', 'Memory limit', 'CPU shares', 'Created', 'Stopped'];
    if (operator) columns.push('Actions');
    replace(list, table(columns, sessions.map((session) => {
      const row = [
        session.session_id, session.username, session.template || '—', badge(session.status), session.port ?? '—',
        percent(usage.get(session.session_id)?.cpu_percent), bytes(usage.get(session.session_id)?.memory_bytes), bytes(session.memory_limit_bytes), session.cpu_shares ?? '—', time(session.created_at), session.stopped_at ? time(session.stopped_at) : '—',
      ];
      if (operator) {
        const id = encodeURIComponent(session.session_id);
        row.push(h('div', { class: 'actions' },
          h('button', { type: 'button', onclick: () => run(`start ${session.session_id}`, () => api(`/api/v1/sessions/${id}/start`, { method: 'POST' })) }, 'start'),
          h('button', { type: 'button', class: 'danger', onclick: () => run(`stop ${session.session_id}`, () => api(`/api/v1/sessions/${id}/stop`, { method: 'POST' })) }, 'stop'),
          h('button', {
            type: 'button', class: 'danger',
            onclick: async () => {
              if (await confirm(`Delete session ${session.session_id} of ${session.username}? Its container is removed.`)) {
                run(`delete ${session.session_id}`, () => api(`/api/v1/sessions/${id}`, { method: 'DELETE' }));
              }
            },
          }, 'delete')));
      }
      return row;
    }), { empty: 'No sessions.' }),
    engine ? h('p', { class: 'muted', id: 'engine' }, 'Container engine ', badge(engine.status),
      `${engine.version ? ` Docker ${engine.version}, API ${engine.api_version}` : ''}${engine.reason ? `: ${engine.reason}` : ''}`) : null);
  }
  await load();
  return undefined;
}
