import { defineConfig } from '@playwright/test';

// The examples run in Debian's Chromium, headless; one worker, since the official SDK needs the
// mock on port 443 and only one process can hold it.
export default defineConfig({
  testDir: './examples/playwright',
  workers: 1,
  timeout: 60_000,
  reporter: [['list']],
  use: {
    browserName: 'chromium',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
        '--autoplay-policy=no-user-gesture-required'],
    },
  },
});
