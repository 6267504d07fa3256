// Logs: journal entries of the allowlisted units, filtered by unit, priority and text, followed live
// (GET /api/v1/logs?follow=true, Server-Sent Events read with fetch).

import { api, query, EventReader } from './api.js';
import { h, replace, message, errorText } from './dom.js';

const PRIORITIES = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'];

function line(entry) {
  const priority = Number.isInteger(entry.priority) ? entry.priority : 6;
  const when = entry.time ? new Date(entry.time).toLocaleString() : '';
  return h('div', { class: `p${priority}`, dataset: { priority: String(priority) } },
    `${when} ${entry.identifier || entry.unit || '-'}[${entry.pid ?? '-'}] ${PRIORITIES[priority] || priority}: ${entry.message}`);
}

export async function mount(root, { params, navigate }) {
  const unit = params.get('unit') || '';
  const priority = params.get('priority') || '';
  const grep = params.get('grep') || '';
  const follow = params.get('follow') === 'true';
  const output = h('div', { class: 'log', id: 'log', role: 'log', 'aria-live': 'off' });
  const status = h('p', { class: 'muted', id: 'follow-state' });
  replace(root, h('h1', { id: 'view-title' }, 'Logs'));
  let first;
  try {
    first = await api(`/api/v1/logs${query({ unit, priority, grep, lines: 200 })}`);
  } catch (error) {
    root.append(message(errorText(error)));
    return undefined;
  }
  const unitSelect = h('select', { name: 'unit', id: 'unit' }, h('option', { value: '' }, 'every allowed unit'),
    (first.units || []).map((name) => h('option', { value: name, selected: name === unit }, name)));
  const prioritySelect = h('select', { name: 'priority', id: 'priority' }, h('option', { value: '' }, 'any priority'),
    PRIORITIES.map((name) => h('option', { value: name, selected: name === priority }, `${name} and worse`)));
  const text = h('input', { type: 'search', name: 'grep', id: 'grep', value: grep, maxlength: 256, placeholder: 'text in the message' });
  const followBox = h('input', { type: 'checkbox', id: 'follow', checked: follow });
  const form = h('form', { class: 'toolbar', id: 'log-filter' },
    h('label', {}, 'Unit ', unitSelect), h('label', {}, 'Priority ', prioritySelect), h('label', {}, 'Text ', text),
    h('label', {}, followBox, ' follow live'), h('button', { type: 'submit' }, 'Apply'));
  const apply = () => navigate('logs', { unit: unitSelect.value, priority: prioritySelect.value, grep: text.value, follow: followBox.checked ? 'true' : '' });
  form.addEventListener('submit', (event) => { event.preventDefault(); apply(); });
  followBox.addEventListener('change', apply);
  root.append(form, status, output);
  const entries = first.entries || [];
  replace(output, entries.length ? entries.map(line) : h('p', { class: 'muted' }, 'No entries.'));
  output.scrollTop = output.scrollHeight;
  if (!follow) return undefined;
  const after = entries.length ? entries[entries.length - 1].cursor : '';
  const reader = new EventReader(`/api/v1/logs${query({ unit, priority, grep, follow: 'true', after })}`, (event) => {
    if (event.event !== 'entry') return;
    let entry;
    try { entry = JSON.parse(event.data); } catch { return; }
    if (output.firstChild && output.firstChild.tagName === 'P') output.replaceChildren();
    const atBottom = output.scrollTop + output.clientHeight >= output.scrollHeight - 4;
    output.append(line(entry));
    while (output.childElementCount > 2000) output.firstChild.remove();
    if (atBottom) output.scrollTop = output.scrollHeight;
  }, {
    resume: false,
    onState: (connected, why) => {
      status.textContent = connected ? 'Following new entries…' : `Not following: ${why}`;
      status.dataset.following = String(connected);
    },
  }).start();
  return () => reader.stop();
}
