// A small app on the official SDK, as a team would write one: start the avatar, show it,
// speak what is typed, show errors. It reads `basePath` and `token` from its URL; the tests
// give it the mock's.
import StreamingAvatar, { AvatarQuality, StreamingEvents, TaskType } from '@heygen/streaming-avatar';

interface AppWindow extends Window {
  appEvents: { name: string; detail: unknown }[];
  sessionId?: string;
}

const app = window as unknown as AppWindow;
app.appEvents = [];
const params = new URLSearchParams(location.search);
const status = document.getElementById('status')!;
const error = document.getElementById('error')!;
const video = document.getElementById('avatar') as HTMLVideoElement;
const text = document.getElementById('text') as HTMLInputElement;

async function main(): Promise<void> {
  const avatar = new StreamingAvatar({ token: params.get('token') ?? '', basePath: params.get('basePath') ?? '' });
  for (const name of Object.values(StreamingEvents)) {
    avatar.on(name, (event: CustomEvent) => app.appEvents.push({ name, detail: event?.detail }));
  }
  // Ready once the stream plays and the session is known: STREAM_READY can fire before
  // createStartAvatar has returned the session.
  let streaming = false;
  const markReady = () => {
    if (streaming && app.sessionId) status.textContent = 'ready';
  };
  avatar.on(StreamingEvents.STREAM_READY, (event: CustomEvent) => {
    video.srcObject = event.detail as MediaStream;
    streaming = true;
    markReady();
  });
  avatar.on(StreamingEvents.STREAM_DISCONNECTED, () => {
    status.textContent = 'disconnected';
  });
  const session = await avatar.createStartAvatar({ avatarName: 'default', quality: AvatarQuality.Low });
  app.sessionId = session.session_id;
  markReady();
  document.getElementById('speak')!.addEventListener('click', async () => {
    error.textContent = '';
    try {
      await avatar.speak({ text: text.value, taskType: TaskType.REPEAT });
    } catch (e) {
      const failure = e as { responseText?: string; message?: string };
      error.textContent = failure.responseText ?? failure.message ?? String(e);
    }
  });
}

main().catch((e: unknown) => {
  status.textContent = 'failed';
  error.textContent = String(e);
});
