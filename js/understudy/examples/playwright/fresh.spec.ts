// 'fresh' mode: a new mock for each test, on free ports here (a suite that does not need the
// official SDK's port 443 can run its workers side by side).
import { test, expect } from '@understudy/mock/playwright';

test.use({ understudyMode: 'fresh', understudyStart: { https: 'any' } });

const seen: string[] = [];

for (const n of [1, 2]) {
  test(`test ${n} gets a mock of its own, which the page trusts`, async ({ page, understudy }) => {
    expect(seen).not.toContain(understudy.httpUrl);
    seen.push(understudy.httpUrl);
    expect(await understudy.admin.sessions()).toEqual([]);
    // The page reaches the mock's HTTPS listener: the worker's browser trusts its certificate.
    await page.goto(`${understudy.httpsUrl}/__understudy/health`);
    await expect(page.locator('body')).toContainText('ok');
  });
}
