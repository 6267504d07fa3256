// Commands (admin): the allowlist with a form per command for its declared parameters, and each run's exit status
// and output. Audit (admin): the hash-chained audit log with its verification.

import { api, query } from './api.js';
import { h, replace, table, message, errorText, time, badge, number } from './dom.js';

async function commands(root) {
  replace(root, h('h1', { id: 'view-title' }, 'Commands'));
  let list;
  try {
    list = (await api('/api/v1/commands')).commands || [];
  } catch (error) {
    root.append(message(errorText(error)));
    return;
  }
  if (!list.length) root.append(message('No commands are allowlisted ([commands.<id>] in the configuration).', 'success'));
  for (const command of list) {
    const output = h('div', { class: 'command-output', 'aria-live': 'polite' });
    const parameters = Object.entries(command.parameters || {});
    const optional = new Set(command.optional || []);
    const inputs = parameters.map(([name, type]) => [name, h('input', { name, required: !optional.has(name), placeholder: String(type), autocomplete: 'off' })]);
    const form = h('form', { class: 'inline', dataset: { command: command.id } },
      inputs.map(([name, input]) => h('label', {}, `${name}${optional.has(name) ? ' (optional)' : ''}`, input)),
      h('button', { type: 'submit', class: 'primary' }, 'Run'));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const values = {};
      for (const [name, input] of inputs) if (input.value !== '') values[name] = input.value;
      replace(output, message(`running ${command.id}…`, 'success'));
      try {
        const run = await api('/api/v1/command', { method: 'POST', body: { command: command.id, parameters: values } });
        replace(output,
          h('p', {}, 'Status ', badge(run.status), ` exit code ${run.exit_code ?? '—'}, ${number(run.duration_seconds, 3)} s`),
          h('pre', { class: 'output' }, run.stdout || ''),
          run.stderr ? h('pre', { class: 'output' }, run.stderr) : null);
      } catch (error) {
        replace(output, message(errorText(error)));
      }
    });
    root.append(h('div', { class: 'panel' },
      h('h2', {}, command.id), h('p', { class: 'muted' }, command.summary || ''),
      h('p', {}, h('code', {}, [command.executable, ...(command.arguments || [])].join(' '))),
      form, output));
  }
}

async function audit(root) {
  replace(root, h('h1', { id: 'view-title' }, 'Audit'));
  let log;
  try {
    log = await api(`/api/v1/audit${query({ limit: 200, verify: 'true' })}`);
  } catch (error) {
    root.append(message(errorText(error)));
    return;
  }
  const verification = log.verification || {};
  // Broken: a record does not verify. Unverified: the chain holds but its end cannot be checked (no anchor file).
  const verdict = verification.intact ? 'intact' : verification.first_bad_record === null ? 'unverified' : 'broken';
  root.append(h('p', { id: 'verification', dataset: { verdict, records: verification.records ?? 0 } }, 'Hash chain ', badge(verdict),
    ` ${verification.records ?? 0} records checked${verification.first_bad_record ? `, first bad record ${verification.first_bad_record}` : ''}${verification.problem ? `: ${verification.problem}` : ''}`));
  root.append(table(['Time', 'Event', 'Principal', 'Role', 'Client', 'Action', 'Outcome'], (log.records || []).map((record) => [
    time(record.time), record.event, record.principal || '—', record.role || '—', record.client_address || '—', record.action || '—', record.outcome || '—',
  ]), { empty: 'No audit records.' }));
}

export async function mount(root, { part }) {
  if (part === 'audit') await audit(root);
  else await commands(root);
  return undefined;
}
