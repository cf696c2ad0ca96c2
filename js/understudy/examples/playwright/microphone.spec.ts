// A fake microphone for voice tests: Chromium plays a WAV as the user's microphone, with no
// permission prompt.
import { fileURLToPath } from 'node:url';
import { test, expect } from '@understudy/mock/playwright';

// A recorded sentence (the repository's fixtures/speech/): the mock's voice detector, like
// HeyGen's, hears speech as a user turn and a tone as no one talking.
const speech = fileURLToPath(new URL('../../../../fixtures/speech/hello.wav', import.meta.url));

test.use({ understudyMicrophone: speech, understudyStart: { https: 'any' } });

test('the page gets the fake microphone without a prompt', async ({ page, understudy }) => {
  await page.goto(`${understudy.httpsUrl}/__understudy/health`);
  const tracks = await page.evaluate(async () => {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    return stream.getAudioTracks().map((t) => t.readyState);
  });
  expect(tracks).toEqual(['live']);
});
