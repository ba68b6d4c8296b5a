'use strict';
// The queue page: talks only to the JSON API under /api/ (docs/admin-api.md). Every changing request carries the CSRF
// token in the X-Postbote-Csrf header; the session itself is an HttpOnly cookie this script never sees.
let csrf = null;
const $ = (id) => document.getElementById(id);

async function api(method, path, body) {
  const headers = { 'Accept': 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['X-Postbote-Csrf'] = csrf;
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw Object.assign(new Error(data.error || r.statusText), { status: r.status });
  return data;
}

function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text == null ? '' : String(text);
  if (cls) td.className = cls;
  return td;
}

function time(t) { return t ? new Date(t).toLocaleString() : ''; }

async function loadQueue() {
  const data = await api('GET', '/api/queue');
  const body = $('queue').tBodies[0];
  body.replaceChildren();
  for (const m of data.messages) {
    m.recipients.forEach((r, i) => {
      const row = body.insertRow();
      row.dataset.id = m.id;
      row.dataset.recipient = r.address;
      if (i === 0) {
        const idCell = cell(row, '');
        const link = document.createElement('a');
        link.href = '#';
        link.textContent = m.id;
        link.className = 'trace-link';
        link.addEventListener('click', (e) => { e.preventDefault(); showTrace(m.id); });
        idCell.append(link);
      } else cell(row, '');
      cell(row, i === 0 ? time(m.received_at) : '');
      cell(row, i === 0 ? m.from : '');
      cell(row, r.address);
      cell(row, r.status, 'state state-' + r.status);
      cell(row, r.attempts);
      cell(row, time(r.next_attempt));
      cell(row, r.last_reply);
      const actions = cell(row, '');
      if (i === 0) {
        for (const action of ['retry', 'hold', 'release', 'delete']) {
          const b = document.createElement('button');
          b.textContent = action;
          b.className = 'action-' + action;
          b.addEventListener('click', () => act(m.id, action));
          actions.append(b);
        }
      }
    });
  }
  $('status').textContent = data.messages.length + ' message(s) in the queue';
}

async function act(id, action) {
  if (action === 'delete' && !confirm('Delete ' + id + ' without delivery and without a bounce?')) return;
  try {
    await api('POST', '/api/queue/' + encodeURIComponent(id) + '/' + action);
    $('status').textContent = id + ': ' + action + ' done';
  } catch (e) {
    $('status').textContent = id + ': ' + action + ': ' + e.message;
  }
  setTimeout(refresh, 700);
}

async function showTrace(id) {
  tracing = id;
  const data = await api('GET', '/api/trace/' + encodeURIComponent(id));
  $('trace-id').textContent = id;
  const body = $('trace').tBodies[0];
  body.replaceChildren();
  for (const e of data.events) {
    const row = body.insertRow();
    cell(row, time(e.time));
    cell(row, e.id);
    cell(row, e.kind);
    const details = Object.entries(e).filter(([k]) => !['time', 'id', 'kind'].includes(k))
      .map(([k, v]) => k + '=' + (Array.isArray(v) ? v.join(',') : v)).join('  ');
    cell(row, details);
  }
  $('trace-box').hidden = false;
}

function chart(svg, minutes, key) {
  const values = minutes.map(m => m[key]);
  const max = Math.max(1, ...values);
  const total = values.reduce((a, b) => a + b, 0);
  svg.parentElement.querySelector('figcaption').textContent = key + ': ' + total + ' in the last hour, at most ' + Math.max(...values) + ' a minute';
  const w = 300 / values.length;
  svg.replaceChildren();
  values.forEach((v, i) => {
    const h = Math.round(76 * v / max);
    const r = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
    r.setAttribute('x', String(i * w));
    r.setAttribute('y', String(80 - h));
    r.setAttribute('width', String(Math.max(1, w - 1)));
    r.setAttribute('height', String(h));
    const title = document.createElementNS('http://www.w3.org/2000/svg', 'title');
    title.textContent = v + ' ' + key + ' at ' + new Date(minutes[i].minute * 60000).toLocaleTimeString();
    r.append(title);
    svg.append(r);
  });
}

async function loadStats() {
  const data = await api('GET', '/api/stats');
  chart($('chart-accepted'), data.minutes, 'accepted');
  chart($('chart-delivered'), data.minutes, 'delivered');
  chart($('chart-deferred'), data.minutes, 'deferred');
}

let tracing = null;

async function refresh() {
  try {
    await Promise.all([loadQueue(), loadStats(), tracing ? showTrace(tracing) : Promise.resolve()]);
  } catch (e) {
    if (e.status === 401) showLogin(); else $('status').textContent = e.message;
  }
}

function showLogin() {
  $('app').hidden = true;
  $('logout').hidden = true;
  $('who').textContent = '';
  $('login-box').hidden = false;
}

function showApp(user) {
  $('login-box').hidden = true;
  $('app').hidden = false;
  $('logout').hidden = false;
  $('who').textContent = user;
  refresh();
}

document.addEventListener('DOMContentLoaded', async () => {
  $('login').addEventListener('submit', async (e) => {
    e.preventDefault();
    $('login-error').textContent = '';
    try {
      const s = await api('POST', '/api/login', { user: $('user').value, password: $('password').value });
      csrf = s.csrf;
      $('password').value = '';
      showApp(s.user);
    } catch (err) {
      $('login-error').textContent = err.message;
    }
  });
  $('logout').addEventListener('click', async () => { await api('POST', '/api/logout').catch(() => {}); csrf = null; showLogin(); });
  $('refresh').addEventListener('click', refresh);
  try {
    const s = await api('GET', '/api/session');
    csrf = s.csrf;
    showApp(s.user);
  } catch (e) {
    showLogin();
  }
  setInterval(() => { if (!$('app').hidden) loadStats().catch(() => {}); }, 15000);
});
