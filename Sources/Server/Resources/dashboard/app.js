// The dashboard's shell: sign-in, navigation by URL fragment (#/overview, #/history?series=…), the role of the
// signed-in credential (controls a role may not use are not shown; the API enforces every role anyway) and the one
// live stream (GET /api/v1/stream) that every view listens to.

import { api, APIError, credential, setCredential, EventReader, query } from './api.js';
import { h, replace, message, errorText } from './dom.js';

const ROLES = { viewer: 1, operator: 2, admin: 3 };

const VIEWS = [
  { id: 'overview', title: 'Overview', role: 'viewer', load: () => import('./overview.js') },
  { id: 'history', title: 'History', role: 'viewer', load: () => import('./history.js') },
  { id: 'capacity', title: 'Capacity', role: 'viewer', load: () => import('./capacity.js') },
  { id: 'incidents', title: 'Incidents', role: 'viewer', load: () => import('./incidents.js') },
  { id: 'services', title: 'Services', role: 'viewer', load: () => import('./services.js') },
  { id: 'sessions', title: 'Sessions', role: 'viewer', load: () => import('./sessions.js') },
  { id: 'logs', title: 'Logs', role: 'operator', load: () => import('./logs.js') },
  { id: 'commands', title: 'Commands', role: 'admin', load: () => import('./admin.js'), part: 'commands' },
  { id: 'audit', title: 'Audit', role: 'admin', load: () => import('./admin.js'), part: 'audit' },
  { id: 'agent', title: 'Agent', role: 'viewer', load: () => import('./agent.js') },
];

/**
 * The live state every view reads: the latest status, status-simple (verdict) and alerts documents and the last
 * 15 minutes of figures. The stream ends with `event: error` when the credential is no longer accepted (a JWT that
 * expired, an API key removed): the page then asks to sign in again.
 */
class Live extends EventTarget {
  constructor() {
    super();
    this.status = null;
    this.simple = null;
    this.alerts = null;
    this.points = [];
    this.window = 900;
    this.reader = null;
  }

  start() {
    const indicator = document.getElementById('live');
    this.reader = new EventReader('/api/v1/stream', (event) => this.receive(event), {
      onState: (connected, why) => {
        indicator.classList.toggle('on', connected);
        indicator.textContent = connected ? 'live' : 'offline';
        indicator.title = connected ? 'receiving every collection' : why;
      },
      onRefused: (why) => this.dispatchEvent(new CustomEvent('refused', { detail: why })),
    }).start();
  }

  stop() {
    if (this.reader) this.reader.stop();
    this.reader = null;
  }

  receive(event) {
    let data;
    try { data = JSON.parse(event.data); } catch { return; }
    if (event.event === 'status') {
      this.status = data;
      this.add(Live.point(data));
    } else if (event.event === 'status-simple') {
      this.simple = data;
    } else if (event.event === 'alerts') {
      this.alerts = data;
    } else if (event.event === 'error') {
      // The agent ends the stream: the credential is no longer accepted.
      this.stop();
      const message = data && data.error ? data.error.message : 'the stream ended';
      this.dispatchEvent(new CustomEvent('refused', { detail: message }));
      return;
    }
    this.dispatchEvent(new CustomEvent(event.event, { detail: data }));
  }

  add(point) {
    if (!point) return;
    const last = this.points[this.points.length - 1];
    if (last && point.t <= last.t) return;
    this.points.push(point);
    const horizon = point.t - this.window;
    while (this.points.length && this.points[0].t < horizon) this.points.shift();
  }

  /** The figures of one status document, at its timestamp (Unix seconds). */
  static point(status) {
    const t = Date.parse(status.timestamp) / 1000;
    if (!Number.isFinite(t)) return null;
    const health = status.system_health || {};
    const network = (status.system_info && status.system_info.network) || {};
    let rx = null;
    let tx = null;
    for (const item of network.details || []) {
      if (item.loopback) continue;
      if (item.receive_bytes_per_second !== null && item.receive_bytes_per_second !== undefined) rx = (rx || 0) + item.receive_bytes_per_second;
      if (item.transmit_bytes_per_second !== null && item.transmit_bytes_per_second !== undefined) tx = (tx || 0) + item.transmit_bytes_per_second;
    }
    const load = health.load_average || {};
    return {
      t, cpu: health.cpu_usage_percent, memory: health.memory_usage_percent, disk: health.disk_usage_percent,
      load1: load.one_minute, load5: load.five_minutes, load15: load.fifteen_minutes, temperature: health.temperature, rx, tx,
    };
  }

  /** Fills the window from stored history (averages per step) so graphs are not empty on first load. */
  async backfill() {
    if (this.points.length) return;
    const now = Date.now() / 1000;
    try {
      const history = await api(`/api/v1/history/status${query({ from: Math.floor(now - this.window), step: 10 })}`);
      for (const point of history.points || []) {
        const load = point.load_average || {};
        this.add({
          t: Date.parse(point.timestamp) / 1000, cpu: point.cpu_usage_percent, memory: point.memory_usage_percent,
          disk: point.disk_usage_percent, load1: load.one_minute, load5: load.five_minutes, load15: load.fifteen_minutes,
          temperature: point.temperature, rx: null, tx: null,
        });
      }
    } catch (error) {
      if (!(error instanceof APIError)) throw error;
      // No history (disabled or unavailable): the graphs start with the live points.
    }
  }
}

const state = { who: null, live: new Live(), cleanup: null, current: '', routing: false };

function can(role) {
  return state.who && (ROLES[state.who.role] || 0) >= ROLES[role];
}

function parseRoute() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path, search = ''] = hash.split('?');
  const view = VIEWS.find((item) => item.id === path) || VIEWS[0];
  return { view, params: new URLSearchParams(search) };
}

/** Moves to a view with parameters (bookmarkable). */
export function navigate(id, params = {}) {
  const search = new URLSearchParams(Object.entries(params).filter(([, value]) => value !== undefined && value !== null && value !== '')).toString();
  const target = `#/${id}${search ? `?${search}` : ''}`;
  if (location.hash === target) route();
  else location.hash = target;
}

async function route() {
  const main = document.getElementById('main');
  const { view, params } = parseRoute();
  if (state.cleanup) {
    try { state.cleanup(); } catch { /* the old view is gone either way */ }
    state.cleanup = null;
  }
  for (const link of document.querySelectorAll('#nav a')) {
    if (link.dataset.view === view.id) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.title = `${view.title} · ViWorks OS Agent`;
  if (!can(view.role)) {
    replace(main, h('h1', {}, view.title), message(`This view needs the ${view.role} role; this credential has ${state.who.role || 'no role'}.`));
    return;
  }
  const token = Symbol(view.id);
  state.current = token;
  const root = h('section', { 'aria-labelledby': 'view-title', dataset: { view: view.id } });
  replace(main, root);
  try {
    const module = await view.load();
    if (state.current !== token) return;
    const cleanup = await module.mount(root, { params, live: state.live, can, who: state.who, navigate, part: view.part });
    if (state.current !== token) {
      if (typeof cleanup === 'function') cleanup();
      return;
    }
    state.cleanup = typeof cleanup === 'function' ? cleanup : null;
    root.dataset.ready = 'true';
  } catch (error) {
    root.append(message(errorText(error)));
    root.dataset.ready = 'error';
  }
}

function renderShell() {
  const nav = document.getElementById('nav');
  replace(nav, VIEWS.filter((view) => can(view.role)).map((view) => h('a', { href: `#/${view.id}`, dataset: { view: view.id } }, view.title)));
  nav.hidden = false;
  document.getElementById('who').hidden = false;
  document.getElementById('principal').textContent = state.who.principal;
  const role = document.getElementById('role');
  role.textContent = state.who.role || 'no role';
  role.dataset.role = state.who.role || '';
  const signOut = document.getElementById('signout');
  signOut.hidden = !credential();
}

/** The credential is no longer accepted (refused, expired, removed): the view goes, and the page asks to sign in again. */
function signInAgain(reason) {
  state.live.stop();
  if (state.cleanup) {
    try { state.cleanup(); } catch { /* the view is going away */ }
    state.cleanup = null;
  }
  state.current = '';
  state.who = null;
  setCredential('');
  document.getElementById('nav').hidden = true;
  document.getElementById('who').hidden = true;
  signIn(`Signed out: ${reason}. Sign in again.`);
}

state.live.addEventListener('refused', (event) => signInAgain(event.detail));

function signIn(reason) {
  const main = document.getElementById('main');
  const input = h('input', { type: 'password', id: 'credential', autocomplete: 'off', required: true, 'aria-describedby': 'signin-help' });
  const form = h('form', { class: 'panel signin', id: 'signin' },
    h('h1', {}, 'Sign in'),
    reason ? message(reason) : null,
    h('label', { for: 'credential' }, 'API key or JWT'),
    input,
    h('p', { class: 'muted', id: 'signin-help' }, 'Kept in this tab only (session storage) and sent as Authorization: Bearer; no cookie is set.'),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    setCredential(input.value.trim());
    start();
  });
  replace(main, form);
  input.focus();
}

async function start() {
  try {
    state.who = await api('/api/v1/whoami');
  } catch (error) {
    if (error instanceof APIError && error.status === 401) {
      const had = credential();
      setCredential('');
      signIn(had ? `The credential was refused: ${error.message}` : '');
      return;
    }
    replace(document.getElementById('main'), message(errorText(error)));
    return;
  }
  renderShell();
  api('/api/v1/system').then((system) => {
    const host = system && system.system && system.system.hostname;
    if (host) document.getElementById('host').textContent = host;
  }).catch(() => {});
  await state.live.backfill();
  state.live.start();
  if (!state.routing) {
    window.addEventListener('hashchange', route);
    state.routing = true;
  }
  route();
}

// Streams end with the page: a page kept in the back/forward cache must not hold its connections open (browsers
// allow six per host), and comes back with a fresh stream.
window.addEventListener('pagehide', () => {
  state.live.stop();
  if (state.cleanup) {
    try { state.cleanup(); } catch { /* the page is going away */ }
    state.cleanup = null;
  }
});
window.addEventListener('pageshow', (event) => {
  if (event.persisted && state.who) {
    state.live.start();
    route();
  }
});

document.getElementById('signout').addEventListener('click', () => {
  setCredential('');
  location.hash = '';
  location.reload();
});

start();
