// Runs in the page: a voice conversation through the official SDK (window.SDK) with Chromium's
// fake microphone, which plays the runner's WAV (a recorded sentence, then silence, looped).
// Returns what it observed; the Node runner asserts on the result.
'use strict';

const USER_EVENTS = ['user_start', 'user_talking_message', 'user_stop', 'user_end_message'];

async function runVoice({ base, apiKey, transport, pushToTalk }) {
  const { AvatarQuality, VoiceChatTransport } = window.SDK;
  const result = {};
  const { avatar, events, streamReady } = await recordingAvatar(base, apiKey);
  const startsSince = (index) => events.slice(index).filter((e) => e.name === 'user_start').length;

  const session = await avatar.createStartAvatar({
    avatarName: 'default',
    quality: AvatarQuality.Low,
    voiceChatTransport: transport === 'livekit' ? VoiceChatTransport.LIVEKIT : VoiceChatTransport.WEBSOCKET,
    enablePushToTalk: pushToTalk,
  });
  await attach(await streamReady());
  if (transport === 'livekit') {
    // speak() in TALK + ASYNC travels as a LiveKit data packet on this transport.
    const before = events.length;
    await avatar.speak({ text: 'Tell me about the LiveKit transport' });
    const start = await waitFor(() => events.slice(before).find((e) => e.name === 'avatar_start_talking'), 20000, 'an answer to LiveKit text').catch(() => null);
    result.livekit_text_answered = Boolean(start);
    if (start) await waitFor(() => events.some((e) => e.name === 'avatar_stop_talking' && e.detail.task_id === start.detail.task_id), 30000, 'the answer ending');
  }
  const scripted = await fetch(`${base}/__understudy/sessions/${session.session_id}/utterances`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ utterances: ['What are your opening hours?'] }),
  });
  result.scripted = scripted.status;

  const begin = events.length;
  await avatar.startVoiceChat();
  if (pushToTalk) {
    // The microphone alone opens no turn: the button does.
    await sleep(3500);
    result.starts_without_button = startsSince(begin);
    await avatar.pushToTalkStart();
    await waitFor(() => startsSince(begin) > 0, 10000, 'user_start after pushToTalkStart');
    await sleep(800);
    await avatar.pushToTalkStop();
  }
  const stop = await waitFor(() => events.slice(begin).find((e) => e.name === 'user_stop'), 20000, 'user_stop');
  const answer = await waitFor(() => events.find((e) => e.name === 'avatar_start_talking' && e.at >= stop.at), 10000, 'the avatar answering');
  result.turn = events.slice(begin)
    .filter((e) => USER_EVENTS.includes(e.name) || e === answer)
    .map((e) => e.name);
  const said = events.slice(begin).find((e) => e.name === 'user_talking_message');
  result.transcript = said && said.detail.message;
  result.user_task_ids_match = said && events.slice(begin).some((e) => e.name === 'user_end_message' && e.detail.task_id === said.detail.task_id);

  if (!pushToTalk) {
    avatar.muteInputAudio();
    await sleep(1000); // a turn open at the mute ends on its hangover
    const muted = events.length;
    await sleep(4000); // longer than the WAV's loop
    result.starts_while_muted = startsSince(muted);
    const unmuted = events.length;
    avatar.unmuteInputAudio();
    result.starts_after_unmute = await waitFor(() => startsSince(unmuted), 10000, 'user_start after unmute').catch(() => 0);
  }

  await avatar.closeVoiceChat();
  await sleep(1500);
  const closed = events.length;
  await sleep(4000);
  result.starts_after_close = startsSince(closed);
  await avatar.stopAvatar();
  return result;
}

/// With Chromium's default fake microphone (no file: a 20 ms beep twice a second), a voice
/// chat runs for `listenMs` and the user never speaks: no turn may open. The admin dump says
/// how much of the microphone the mock's detector judged, so "no turn" cannot mean "no audio".
async function runQuietMicrophone({ base, apiKey, transport, listenMs }) {
  const { AvatarQuality, VoiceChatTransport } = window.SDK;
  const { avatar, events, streamReady } = await recordingAvatar(base, apiKey);
  const session = await avatar.createStartAvatar({
    avatarName: 'default',
    quality: AvatarQuality.Low,
    voiceChatTransport: transport === 'livekit' ? VoiceChatTransport.LIVEKIT : VoiceChatTransport.WEBSOCKET,
  });
  await attach(await streamReady());
  const begin = events.length;
  await avatar.startVoiceChat();
  await sleep(listenMs);
  const dumps = await (await fetch(`${base}/__understudy/sessions`)).json();
  const dump = dumps.find((d) => d.session_id === session.session_id) || {};
  const result = {
    user_events: events.slice(begin).filter((e) => USER_EVENTS.includes(e.name)).map((e) => e.name),
    user_turns: dump.user_turns,
    audio_heard_ms: dump.audio_heard_ms,
  };
  await avatar.closeVoiceChat();
  await avatar.stopAvatar();
  return result;
}

window.runVoice = runVoice;
window.runQuietMicrophone = runQuietMicrophone;
