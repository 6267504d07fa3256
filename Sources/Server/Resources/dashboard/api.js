// The API client of the dashboard: every request carries the signed-in credential as `Authorization: Bearer`
// (kept in sessionStorage, never in a cookie), and errors come back as APIError with the API's code and message.

const STORAGE_KEY = 'viworks.credential';

export function credential() {
  return sessionStorage.getItem(STORAGE_KEY) || '';
}

export function setCredential(value) {
  if (value) sessionStorage.setItem(STORAGE_KEY, value);
  else sessionStorage.removeItem(STORAGE_KEY);
}

export class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function headers(extra = {}) {
  const result = { Accept: 'application/json', ...extra };
  const token = credential();
  if (token) result.Authorization = `Bearer ${token}`;
  return result;
}

/** A JSON request; resolves to the parsed body, rejects with APIError. */
export async function api(path, { method = 'GET', body, signal } = {}) {
  const init = { method, headers: headers(), cache: 'no-store', credentials: 'omit', signal };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new APIError(0, 'network', `the agent cannot be reached (${error.message})`);
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) {
    const error = data && data.error;
    throw new APIError(response.status, error ? error.code : `http_${response.status}`, error ? error.message : `${response.status} ${response.statusText}`);
  }
  return data;
}

/** Query string of an object, skipping empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) value.forEach((item) => search.append(key, item));
    else search.append(key, String(value));
  }
  // URLSearchParams writes a space as `+` (form encoding), which the agent reads as a literal `+` (RFC 3986, so that
  // `from=…+00:00` works from curl): spaces are sent as %20 (a `+` in a value is already %2B).
  const text = search.toString().replace(/\+/g, '%20');
  return text ? `?${text}` : '';
}

/**
 * Reads a Server-Sent Events response with fetch (EventSource cannot send an Authorization header) and calls
 * onEvent({id, event, data}) per event. Reconnects after `retry` ms with Last-Event-ID until stop() is called, or
 * until the agent refuses the credential (401: onRefused(message), no more tries).
 */
export class EventReader {
  constructor(path, onEvent, { onState = () => {}, onRefused = () => {}, resume = true } = {}) {
    this.path = path;
    this.onEvent = onEvent;
    this.onState = onState;
    this.onRefused = onRefused;
    this.resume = resume;
    this.lastEventId = '';
    this.retry = 3000;
    this.controller = null;
    this.stopped = false;
  }

  start() {
    this.stopped = false;
    this.loop();
    return this;
  }

  stop() {
    this.stopped = true;
    if (this.controller) this.controller.abort();
  }

  async loop() {
    while (!this.stopped) {
      this.controller = new AbortController();
      try {
        const extra = { Accept: 'text/event-stream' };
        if (this.resume && this.lastEventId) extra['Last-Event-ID'] = this.lastEventId;
        const response = await fetch(this.path, { headers: headers(extra), cache: 'no-store', credentials: 'omit', signal: this.controller.signal });
        if (!response.ok) {
          let message = `${response.status} ${response.statusText}`;
          try { message = (await response.json()).error.message; } catch { /* not JSON */ }
          this.onState(false, message);
          if (response.status === 401 && !this.stopped) this.onRefused(message);
          if (response.status === 401 || response.status === 403 || response.status === 404) return;
        } else {
          this.onState(true, '');
          await this.read(response.body);
          this.onState(false, 'stream ended');
        }
      } catch (error) {
        if (this.stopped) return;
        this.onState(false, error.message);
      }
      if (this.stopped) return;
      await new Promise((resolve) => setTimeout(resolve, this.retry));
    }
  }

  async read(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    let event = { id: '', event: 'message', data: [] };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let newline;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        let line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (line.endsWith('\r')) line = line.slice(0, -1);
        if (line === '') {
          if (event.data.length) {
            if (event.id) this.lastEventId = event.id;
            this.onEvent({ id: event.id, event: event.event, data: event.data.join('\n') });
            if (this.stopped) return;
          }
          event = { id: '', event: 'message', data: [] };
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let text = colon < 0 ? '' : line.slice(colon + 1);
        if (text.startsWith(' ')) text = text.slice(1);
        if (field === 'data') event.data.push(text);
        else if (field === 'event') event.event = text;
        else if (field === 'id') event.id = text;
        else if (field === 'retry' && /^\d+$/.test(text)) this.retry = Number(text);
      }
    }
  }
}
