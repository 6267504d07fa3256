// Sessions: the agent's container sessions (GET /api/v1/sessions) with username, port and resource use; operators
// create one from a configured template, stop, start and delete them (stop and delete confirmed first).

import { api } from './api.js';
import { h, replace, badge, table, message, errorText, bytes, time, confirm, percent } from './dom.js';

export async function mount(root, { can, live }) {
  const result = h('div', { id: 'action-result', 'aria-live': 'polite' });
  const list = h('div', { id: 'session-list' });
  const operator = can('operator');
  let sessions = null;
  let engine = null;
  let busy = false;
  replace(root, h('h1', { id: 'view-title' }, 'Sessions'), result);

  async function run(label, request) {
    busy = true;
    replace(result, message(`${label}…`, 'success'));
    try {
      const answer = await request();
      replace(result, message(`${label}: ${answer && answer.status ? answer.status : 'done'}${answer && answer.port ? `, port ${answer.port}` : ''}`, 'success'));
    } catch (error) {
      replace(result, message(`${label} failed: ${errorText(error)}`));
    } finally {
      busy = false;
    }
    await load();
  }

  async function confirmed(text, label, request) {
    busy = true;
    let ok = false;
    try {
      ok = await confirm(text);
    } finally {
      busy = false;
    }
    if (ok) await run(label, request);
  }

  if (operator) {
    const username = h('input', { name: 'username', id: 'session-username', required: true, autocomplete: 'off', pattern: '[a-z_][a-z0-9_.\\-]{0,31}', placeholder: 'alice' });
    const template = h('input', { name: 'template', id: 'session-template', required: true, autocomplete: 'off', pattern: '[A-Za-z0-9][A-Za-z0-9._\\-]{0,63}', placeholder: 'a configured template' });
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

  function actions(session) {
    const id = encodeURIComponent(session.session_id);
    const button = (action, props, text) => h('button', { type: 'button', dataset: { action, session: session.session_id }, ...props }, text);
    const buttons = [];
    if (session.status === 'running') {
      buttons.push(button('stop', {
        class: 'danger',
        onclick: () => confirmed(`Stop session ${session.session_id} of ${session.username}? Its container is stopped and kept.`,
          `stop ${session.session_id}`, () => api(`/api/v1/sessions/${id}/stop`, { method: 'POST' })),
      }, 'stop'));
    } else if (session.status !== 'removed') {
      buttons.push(button('start', { onclick: () => run(`start ${session.session_id}`, () => api(`/api/v1/sessions/${id}/start`, { method: 'POST' })) }, 'start'));
    }
    if (session.status !== 'removed') {
      buttons.push(button('delete', {
        class: 'danger',
        onclick: () => confirmed(`Delete session ${session.session_id} of ${session.username}? Its container is removed.`,
          `delete ${session.session_id}`, () => api(`/api/v1/sessions/${id}`, { method: 'DELETE' })),
      }, 'delete'));
    }
    return h('div', { class: 'actions' }, buttons);
  }

  function draw() {
    if (sessions === null) return;
    // Resource use from the latest status (its containers section, by session id).
    const status = live.status || {};
    const usage = new Map((status.containers || []).filter((c) => c.session_id).map((c) => [c.session_id, c]));
    const columns = ['Session', 'User', 'Template', 'Status', 'Port', 'CPU', 'Memory', 'Memory limit', 'CPU shares', 'Created', 'Stopped'];
    if (operator) columns.push('Actions');
    const rows = sessions.map((session) => {
      const used = usage.get(session.session_id) || {};
      const row = [
        // The first 12 digits, as docker shows a container id; the whole id in the tooltip.
        h('code', { dataset: { session: session.session_id }, title: session.session_id }, session.session_id.slice(0, 12)), session.username, session.template || '—', badge(session.status),
        session.port === null || session.port === undefined ? '—' : String(session.port),
        h('span', { class: 'cpu', dataset: { value: used.cpu_percent ?? '' } }, percent(used.cpu_percent)),
        h('span', { class: 'memory', dataset: { value: used.memory_bytes ?? '' } }, bytes(used.memory_bytes)),
        bytes(session.memory_limit_bytes), session.cpu_shares === null || session.cpu_shares === undefined ? '—' : String(session.cpu_shares),
        time(session.created_at), session.stopped_at ? time(session.stopped_at) : '—',
      ];
      if (operator) row.push(actions(session));
      return row;
    });
    replace(list, table(columns, rows, { empty: 'No sessions.' }),
      engine ? h('p', { class: 'muted', id: 'engine' }, 'Container engine ', badge(engine.status),
        `${engine.version ? ` Docker ${engine.version}, API ${engine.api_version}` : ''}${engine.reason ? `: ${engine.reason}` : ''}`) : null);
    list.dataset.timestamp = status.timestamp || '';
  }

  async function load() {
    try {
      const answer = await api('/api/v1/sessions');
      sessions = Array.isArray(answer) ? answer : answer.sessions || [];
      engine = answer.engine || null;
    } catch (error) {
      sessions = null;
      replace(list, message(error.status === 404 ? 'This agent has no session support (no /api/v1/sessions).' : errorText(error)));
      return;
    }
    draw();
  }

  await load();
  // Each collection brings the containers' CPU and memory: redrawn, but not under an open confirmation or an action.
  const onStatus = () => {
    if (!busy && !document.getElementById('confirm').open) draw();
  };
  live.addEventListener('status', onStatus);
  return () => live.removeEventListener('status', onStatus);
}
