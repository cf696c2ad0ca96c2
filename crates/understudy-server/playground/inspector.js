// The inspector: the mock's live and recent sessions and its request journal, from the admin
// API (/__understudy), refreshed every second, with the admin actions as buttons.
'use strict';

const inspector = {
  selected: null,
  journal: [],
  lastSeq: 0,
  journalOpen: null,
  // What the inject box holds, kept across the once-a-second redraws.
  injectText: 'What are your opening hours?',
};

const el = (id) => document.getElementById(id);

function adminHeaders(json) {
  const headers = {};
  const token = el('admin-token').value.trim();
  if (token) headers['x-understudy-admin-token'] = token;
  if (json) headers['content-type'] = 'application/json';
  return headers;
}

async function admin(method, path, body) {
  const response = await fetch(`/__understudy${path}`, {
    method,
    headers: adminHeaders(body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json().catch(() => null);
  if (!response.ok) {
    const why = json && json.message ? json.message : response.statusText;
    throw new Error(`${method} /__understudy${path}: ${response.status} ${why}`);
  }
  return json;
}

function showError(error) {
  const box = el('inspector-error');
  box.hidden = !error;
  box.textContent = error ? String(error.message || error) : '';
}

function seconds(ms) { return `${(ms / 1000).toFixed(1)} s`; }

function cell(row, text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}

function renderSessions(sessions) {
  const body = el('sessions').querySelector('tbody');
  body.textContent = '';
  for (const s of [...sessions].reverse()) {
    const row = document.createElement('tr');
    row.dataset.sessionId = s.session_id;
    if (s.session_id === inspector.selected) row.className = 'selected';
    cell(row, s.session_id.slice(0, 8)).title = s.session_id;
    cell(row, s.protocol);
    cell(row, s.state, `state-${s.state}`);
    cell(row, s.avatar_id);
    cell(row, seconds(s.age_ms));
    cell(row, seconds(s.idle_ms));
    cell(row, String(s.viewers));
    cell(row, String(s.chat_sockets));
    cell(row, s.speaking_task_id ? `${s.speaking_task_id.slice(0, 8)} +${s.queued_task_ids.length}` : s.queued_task_ids.length ? `+${s.queued_task_ids.length}` : '');
    cell(row, String(s.user_turns));
    cell(row, s.user_speaking ? 'user speaking' : '');
    row.addEventListener('click', () => { inspector.selected = s.session_id; renderDetail(sessions); renderSessions(sessions); });
    body.appendChild(row);
  }
  renderDetail(sessions);
}

function renderDetail(sessions) {
  // Not while the user types into it: a redraw would take the text box away.
  if (document.activeElement && document.activeElement.id === 'inject-text') return;
  const box = el('session-detail');
  const s = sessions.find((x) => x.session_id === inspector.selected);
  box.textContent = '';
  if (!s) return;
  const title = document.createElement('h3');
  title.textContent = `Session ${s.session_id}`;
  box.appendChild(title);
  const facts = document.createElement('div');
  facts.textContent = [
    `${s.protocol} · ${s.state}${s.close_reason ? ` (${s.close_reason})` : ''}`,
    `${s.quality} ${s.video_encoding} · avatar ${s.avatar_id} · key ${s.api_key}`,
    `viewers ${s.viewers}${s.room_members.length ? ` (${s.room_members.join(', ')})` : ''} · chat sockets ${s.chat_sockets} · realtime ${s.realtime_sockets}`,
    `listening ${s.listening} · user speaking ${s.user_speaking} · turns ${s.user_turns} · audio heard ${seconds(s.audio_heard_ms)} · scripted ${s.scripted_utterances}${s.push_to_talk ? ' · push-to-talk' : ''}`,
    `latency profile ${s.latency_profile}`,
  ].join('\n');
  facts.style.whiteSpace = 'pre-wrap';
  box.appendChild(facts);

  const schedule = document.createElement('table');
  schedule.id = 'schedule';
  schedule.innerHTML = '<thead><tr><th>Task</th><th>Type</th><th>Starts in</th><th>Ends in</th><th>Says</th></tr></thead>';
  const rows = document.createElement('tbody');
  for (const t of s.schedule) {
    const row = document.createElement('tr');
    cell(row, t.task_id.slice(0, 8)).title = t.task_id;
    cell(row, t.task_type);
    cell(row, t.starts_in_ms < 0 ? 'talking' : seconds(t.starts_in_ms));
    cell(row, seconds(t.ends_in_ms));
    cell(row, t.client_audio ? '(client audio)' : t.text);
    rows.appendChild(row);
  }
  schedule.appendChild(rows);
  box.appendChild(schedule);
  if (!s.schedule.length) {
    const quiet = document.createElement('p');
    quiet.className = 'muted';
    quiet.textContent = 'Nothing to say.';
    box.appendChild(quiet);
  }

  if (s.state === 'closed') return;
  const actions = document.createElement('div');
  actions.className = 'actions row';
  const utterance = document.createElement('input');
  utterance.placeholder = 'what the user says';
  utterance.value = inspector.injectText;
  utterance.id = 'inject-text';
  utterance.oninput = () => { inspector.injectText = utterance.value; };
  const inject = document.createElement('button');
  inject.textContent = 'Inject a user turn';
  inject.id = 'inject';
  inject.disabled = s.state !== 'connected';
  inject.onclick = () => act(() => admin('POST', `/sessions/${s.session_id}/user_turn`, { text: utterance.value, duration_ms: 1000 }));
  const end = document.createElement('button');
  end.textContent = 'End the session';
  end.id = 'end-session';
  end.onclick = () => act(() => admin('DELETE', `/sessions/${s.session_id}`));
  actions.append(utterance, inject, end);
  box.appendChild(actions);
}

async function act(action) {
  try {
    await action();
    showError(null);
    await refresh();
  } catch (e) {
    showError(e);
  }
}

function journalMatches(r) {
  const path = el('journal-path').value.trim();
  const method = el('journal-method').value;
  const status = el('journal-status').value;
  const session = el('journal-session').value.trim();
  if (path && !r.path.includes(path)) return false;
  if (method && r.method !== method) return false;
  if (status && String(r.status)[0] !== status) return false;
  if (session && !JSON.stringify([r.query, r.body, r.response]).includes(session)) return false;
  return true;
}

function renderJournal() {
  const body = el('journal').querySelector('tbody');
  body.textContent = '';
  const shown = inspector.journal.filter(journalMatches).slice(-300).reverse();
  for (const r of shown) {
    const row = document.createElement('tr');
    row.dataset.seq = String(r.seq);
    cell(row, String(r.seq));
    cell(row, new Date(r.unix_ms).toLocaleTimeString());
    cell(row, r.method);
    cell(row, r.path).title = r.query ? `${r.path}?${r.query}` : r.path;
    cell(row, String(r.status), `status-${String(r.status)[0]}`);
    cell(row, r.response && r.response.code !== undefined ? String(r.response.code) : '');
    row.addEventListener('click', () => {
      inspector.journalOpen = r.seq;
      const detail = el('journal-detail');
      detail.hidden = false;
      detail.textContent = JSON.stringify(r, null, 2);
    });
    body.appendChild(row);
  }
}

async function refresh() {
  try {
    const [sessions, requests] = await Promise.all([
      admin('GET', '/sessions'),
      admin('GET', `/requests?since=${inspector.lastSeq}`),
    ]);
    for (const r of requests) inspector.lastSeq = Math.max(inspector.lastSeq, r.seq);
    inspector.journal = inspector.journal.concat(requests).slice(-2000);
    renderSessions(sessions);
    renderJournal();
    showError(null);
  } catch (e) {
    showError(e);
  }
}

el('reset').addEventListener('click', () => {
  if (confirm('End every session and forget every token, knowledge base and fault rule?')) {
    act(() => admin('POST', '/reset'));
  }
});
el('journal-clear').addEventListener('click', () => act(async () => {
  await admin('DELETE', '/requests');
  inspector.journal = [];
  el('journal-detail').hidden = true;
}));
for (const id of ['journal-path', 'journal-method', 'journal-status', 'journal-session']) {
  el(id).addEventListener('input', renderJournal);
}
fetch('/__understudy/health', { headers: adminHeaders(false) })
  .then((r) => r.json())
  .then((h) => { el('server-version').textContent = `v${h.version}`; })
  .catch(() => {});
refresh();
setInterval(refresh, 1000);
