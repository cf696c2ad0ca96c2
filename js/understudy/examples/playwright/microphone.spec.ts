// A fake microphone for voice tests: Chromium plays a WAV as the user's microphone, with no
// permission prompt.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, expect } from '@understudy/mock/playwright';

/** A second of a 200 Hz tone, 16-bit mono at 16 kHz. */
function toneWav(): string {
  const rate = 16_000;
  const data = Buffer.alloc(rate * 2);
  for (let i = 0; i < rate; i++) data.writeInt16LE(Math.round(Math.sin((2 * Math.PI * 200 * i) / rate) * 8000), i * 2);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0); header.writeUInt32LE(36 + data.length, 4); header.write('WAVE', 8);
  header.write('fmt ', 12); header.writeUInt32LE(16, 16); header.writeUInt16LE(1, 20); header.writeUInt16LE(1, 22);
  header.writeUInt32LE(rate, 24); header.writeUInt32LE(rate * 2, 28); header.writeUInt16LE(2, 32); header.writeUInt16LE(16, 34);
  header.write('data', 36); header.writeUInt32LE(data.length, 40);
  const path = join(mkdtempSync(join(tmpdir(), 'understudy-mic-')), 'tone.wav');
  writeFileSync(path, Buffer.concat([header, data]));
  return path;
}

test.use({ understudyMicrophone: toneWav(), understudyStart: { https: 'any' } });

test('the page gets the fake microphone without a prompt', async ({ page, understudy }) => {
  await page.goto(`${understudy.httpsUrl}/__understudy/health`);
  const tracks = await page.evaluate(async () => {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    return stream.getAudioTracks().map((t) => t.readyState);
  });
  expect(tracks).toEqual(['live']);
});
