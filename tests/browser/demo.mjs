// Serves the demo page (demo.html with the official SDK 2.1.0 bundled) on 127.0.0.1, for a
// person to open in a browser while `understudy serve --https-port 443` runs.
//
// Usage: node demo.mjs [port]        then open http://127.0.0.1:<port>/
// The browser must trust the mock's certificate (see the README).

import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));

/// Bundles SDK 2.1.0 and returns an HTTP server for the demo (not yet listening).
export async function demoServer() {
  const bundle = await build({
    stdin: { contents: "import * as m from 'sdk-2.1.0'; window.SDK = m;", resolveDir: here, loader: 'js' },
    bundle: true, format: 'iife', platform: 'browser', target: 'chrome120', write: false, logLevel: 'warning',
  });
  const js = bundle.outputFiles[0].contents;
  const html = readFileSync(join(here, 'demo.html'));
  return createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    if (path === '/bundle.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
    } else if (path === '/' || path === '/demo.html') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(html);
    } else {
      res.writeHead(404).end();
    }
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const port = Number(process.argv[2] || 5173);
  const server = await demoServer();
  server.listen(port, '127.0.0.1', () => console.log(`demo: open http://127.0.0.1:${port}/ (API at https://localhost)`));
}
