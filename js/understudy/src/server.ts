// Starts `understudy serve` as a child process on free ports (and 443 when the official SDK
// needs it), waits until it answers, and stops it. No dependencies beyond Node.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminClient } from './admin.js';

export interface StartOptions {
  /** The binary; default `$UNDERSTUDY_BIN`, else `understudy` on the PATH. */
  binary?: string;
  /**
   * HTTPS: `443` for the official SDK (2.0.14+ dials `wss://<basePath host>` on 443, which
   * needs root or CAP_NET_BIND_SERVICE), `'any'` for a free port (the default), `'off'`.
   */
  https?: 443 | 'any' | 'off';
  /** The API key tests use; any key works unless `args` limits them. */
  apiKey?: string;
  /** Where the generated certificate is kept: one directory, one certificate, one trust flag. */
  tlsDir?: string;
  /** More `understudy serve` flags, e.g. `['--connect-on-start']`. */
  args?: string[];
  /** How long to wait for the server to answer. Default 20 s. */
  startTimeoutMs?: number;
}

/** A running mock. */
export interface Understudy {
  /** Plain HTTP, e.g. `http://127.0.0.1:40123`: REST and the admin API. */
  readonly httpUrl: string;
  /** HTTPS, when on: `https://localhost:<port>` (`https://localhost` on 443). */
  readonly httpsUrl?: string;
  /** What to give the official SDK as `basePath`: HTTPS on 443 when on, else `httpUrl`. */
  readonly basePath: string;
  readonly apiKey: string;
  /** The certificate's SPKI hash, for Chromium's `--ignore-certificate-errors-spki-list`. */
  readonly spki?: string;
  /** Chromium launch arguments that trust the mock's certificate. */
  readonly chromiumArgs: string[];
  readonly admin: AdminClient;
  /** A fresh session token (`streaming.create_token` with the API key). */
  createToken(): Promise<string>;
  /** Chromium arguments for a fake microphone playing `wav` (and no permission prompt). */
  fakeMicrophoneArgs(wav: string): string[];
  /** Stops the server and waits for it to exit. */
  stop(): Promise<void>;
}

/** `understudy serve` could not start; `output` is what it printed. */
export class StartError extends Error {
  constructor(message: string, readonly output: string) {
    super(output ? `${message}\n${output}` : message);
    this.name = 'StartError';
  }
}

export async function startUnderstudy(options: StartOptions = {}): Promise<Understudy> {
  const binary = options.binary ?? process.env.UNDERSTUDY_BIN ?? 'understudy';
  const https = options.https ?? 'any';
  const apiKey = options.apiKey ?? 'understudy-test-key';
  const tlsDir = options.tlsDir ?? mkdtempSync(join(tmpdir(), 'understudy-tls-'));
  const args = ['serve', '--host', '127.0.0.1', '--port', '0'];
  if (https === 'off') args.push('--no-https');
  else args.push('--https-port', https === 443 ? '443' : '0', '--tls-dir', tlsDir);
  args.push(...(options.args ?? []));

  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk) => { output += chunk; });
  child.stderr?.on('data', (chunk) => { output += chunk; });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const spawnFailed = new Promise<Error>((resolve) => child.on('error', resolve));

  const deadline = Date.now() + (options.startTimeoutMs ?? 20_000);
  const ready = async (): Promise<void> => {
    while (!output.includes('Press Ctrl-C to stop.')) {
      if (Date.now() > deadline) throw new StartError('understudy serve did not start in time', output);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const failure = Promise.race([
    spawnFailed.then((e) => new StartError(
      `could not run ${binary} (${e.message}): build it (cargo build -p understudy) and set UNDERSTUDY_BIN or put it on the PATH`, '')),
    exited.then((code) => {
      if (https === 443 && /443/.test(output) && /(denied|permission)/i.test(output)) {
        return new StartError(
          `understudy could not bind port 443, which the official SDK dials for its chat socket. Run as root, or give the binary the capability once: sudo setcap cap_net_bind_service=+ep ${binary}`,
          output);
      }
      return new StartError(`understudy serve exited (code ${code}) before it was ready`, output);
    }),
  ]);
  const outcome = await Promise.race([ready().then(() => null), failure]);
  if (outcome) {
    child.kill('SIGKILL');
    throw outcome;
  }

  const httpUrl = match(output, /HTTP\s+(http:\/\/\S+)/);
  const httpsUrl = https === 'off' ? undefined : match(output, /HTTPS\s+(https:\/\/\S+)/)?.replace(/:443$/, '');
  const spki = match(output, /--ignore-certificate-errors-spki-list=(\S+)/);
  if (!httpUrl) {
    child.kill('SIGKILL');
    throw new StartError('understudy serve printed no HTTP address', output);
  }
  const admin = new AdminClient(httpUrl);
  while (!(await admin.health())) {
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new StartError('understudy serve did not answer in time', output);
    }
    await new Promise((r) => setTimeout(r, 20));
  }

  return {
    httpUrl,
    httpsUrl,
    basePath: https === 443 && httpsUrl ? httpsUrl : httpUrl,
    apiKey,
    spki,
    chromiumArgs: spki ? [`--ignore-certificate-errors-spki-list=${spki}`] : [],
    admin,
    async createToken() {
      const response = await fetch(`${httpUrl}/v1/streaming.create_token`, {
        method: 'POST',
        headers: { 'x-api-key': apiKey },
      });
      const body = (await response.json()) as { data?: { token?: string } };
      if (!response.ok || !body.data?.token) throw new Error(`create_token: HTTP ${response.status} ${JSON.stringify(body)}`);
      return body.data.token;
    },
    fakeMicrophoneArgs(wav: string) {
      return ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-audio-capture=${wav}`];
    },
    stop: () => stop(child, exited),
  };
}

function match(text: string, pattern: RegExp): string | undefined {
  return pattern.exec(text)?.[1];
}

async function stop(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
