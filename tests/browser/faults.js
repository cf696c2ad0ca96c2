// Runs in the page: fault rules set through the admin API, seen through the official SDK: a
// 500 on speak (the promise rejects with HeyGen's body), a dropped chat socket, and the room
// leaving with a reason (STREAM_DISCONNECTED carries it). The Node runner asserts.
'use strict';

async function addFault(base, rule) {
  const response = await fetch(`${base}/__understudy/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(rule),
  });
  return response.status;
}

async function runFaults({ base, apiKey }) {
  const { TaskType, TaskMode, AvatarQuality } = window.SDK;
  const result = {};
  const { avatar, events, streamReady } = await recordingAvatar(base, apiKey);
  const session = await avatar.createStartAvatar({ avatarName: 'default', quality: AvatarQuality.Low });
  const sessionId = session.session_id;
  await attach(await streamReady());

  // A 500 with HeyGen's body, once.
  result.rule_500 = await addFault(base, {
    on: '/v1/streaming.task', session_id: sessionId, times: 1,
    respond: { status: 500, code: 10000, message: 'injected by a fault rule' },
  });
  try {
    await avatar.speak({ text: 'this one fails', taskType: TaskType.REPEAT, taskMode: TaskMode.ASYNC });
    result.speak_500 = { resolved: true };
  } catch (e) {
    result.speak_500 = { status: e.status, body: e.responseText };
  }
  const next = await avatar.speak({ text: 'this one works', taskType: TaskType.REPEAT, taskMode: TaskMode.ASYNC });
  result.speak_after = Boolean(next && next.task_id);

  // The chat socket dropped without a close frame: the SDK forgets it, and talk over it is lost.
  result.socket_open_before = Boolean(avatar.webSocket);
  result.rule_drop = await addFault(base, { on: 'chat_socket', session_id: sessionId, drop: true });
  await waitFor(() => !avatar.webSocket, 10000, 'the SDK to see its chat socket gone').catch(() => {});
  result.socket_gone = !avatar.webSocket;

  // The server says the client's connection is poor: the SDK's quality turns BAD.
  result.rule_quality = await addFault(base, { on: 'room', session_id: sessionId, connection_quality: 'poor' });
  const bad = await waitFor(() => events.find((e) => e.name === 'connection_quality_changed' && e.detail === 'BAD'), 10000, 'CONNECTION_QUALITY_CHANGED BAD').catch(() => null);
  result.quality = bad ? bad.detail : events.filter((e) => e.name === 'connection_quality_changed').map((e) => e.detail);

  // The room leaves with PARTICIPANT_REMOVED (4).
  result.rule_leave = await addFault(base, { on: 'room', session_id: sessionId, leave: 4 });
  const disconnected = await waitFor(() => events.find((e) => e.name === 'stream_disconnected'), 10000, 'STREAM_DISCONNECTED').catch(() => null);
  result.disconnect_reason = disconnected && disconnected.detail;

  const journal = await (await fetch(`${base}/__understudy/requests`)).json();
  result.journaled = journal.filter((r) => r.fault).map((r) => r.fault.action);
  await avatar.stopAvatar().catch(() => {});
  return result;
}

window.runFaults = runFaults;
