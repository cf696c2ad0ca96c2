// A Playwright fixture: each test gets a mock (one per worker, reset between tests, or a
// fresh one per test) and a browser that already trusts its certificate.
//
//   import { test, expect } from '@understudy/mock/playwright';
//   test('speaks', async ({ page, understudy }) => { ... understudy.basePath ... });

import { test as base } from '@playwright/test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startUnderstudy, type StartOptions, type Understudy } from './server.js';

export interface UnderstudyWorkerOptions {
  /**
   * `'shared'` (default): one mock per worker, reset (sessions, tokens, faults, journal)
   * before each test. `'fresh'`: a new mock for each test.
   */
  understudyMode: 'shared' | 'fresh';
  /** How the mock starts. Default: HTTPS on 443, as the official SDK needs. */
  understudyStart: StartOptions;
  /** A WAV file Chromium's fake microphone plays, for voice tests; none by default. */
  understudyMicrophone: string | undefined;
}

interface WorkerFixtures extends UnderstudyWorkerOptions {
  understudyTlsDir: string;
  understudyWorker: Understudy;
}

export const test = base.extend<{ understudy: Understudy }, WorkerFixtures>({
  understudyMode: ['shared', { option: true, scope: 'worker' }],
  understudyStart: [{ https: 443 }, { option: true, scope: 'worker' }],
  understudyMicrophone: [undefined, { option: true, scope: 'worker' }],
  // One certificate per worker, so every mock it starts is trusted by the same browser.
  understudyTlsDir: [
    async ({}, use) => {
      await use(mkdtempSync(join(tmpdir(), 'understudy-playwright-tls-')));
    },
    { scope: 'worker' },
  ],
  understudyWorker: [
    async ({ understudyMode, understudyStart, understudyTlsDir }, use) => {
      const mock = await startUnderstudy({ tlsDir: understudyTlsDir, ...understudyStart });
      // In 'fresh' mode this first mock only makes the worker's certificate (and its trust
      // flag): each test starts its own, on the same ports.
      if (understudyMode === 'fresh') await mock.stop();
      await use(mock);
      await mock.stop();
    },
    { scope: 'worker' },
  ],
  launchOptions: [
    async ({ launchOptions, understudyWorker, understudyMicrophone }, use) => {
      const args = [...(launchOptions.args ?? []), ...understudyWorker.chromiumArgs];
      if (understudyMicrophone) args.push(...understudyWorker.fakeMicrophoneArgs(understudyMicrophone));
      await use({ ...launchOptions, args });
    },
    { scope: 'worker' },
  ],
  understudy: async ({ understudyMode, understudyStart, understudyTlsDir, understudyWorker }, use) => {
    if (understudyMode === 'shared') {
      await understudyWorker.admin.reset();
      await use(understudyWorker);
      return;
    }
    const fresh = await startUnderstudy({ tlsDir: understudyTlsDir, ...understudyStart });
    try {
      await use(fresh);
    } finally {
      await fresh.stop();
    }
  },
});

export { expect } from '@playwright/test';
export type { Understudy } from './server.js';
