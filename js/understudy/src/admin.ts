// A typed client for Understudy's admin API (`/__understudy`): the request journal, sessions,
// reset, the user's voice, fault rules and latency profiles. Errors carry the mock's answer.

import type {
  FaultRule,
  FaultStatus,
  MockStats,
  RecordedRequest,
  RequestFilter,
  SessionDump,
} from './types.js';

/** An admin call the mock refused: its status and HeyGen-style body. */
export class AdminError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    what: string,
  ) {
    super(`${what}: HTTP ${status} ${JSON.stringify(body)}`);
    this.name = 'AdminError';
  }
}

export interface AdminClientOptions {
  /** Sent as `Authorization: Bearer` when the server runs with `--admin-token`. */
  adminToken?: string;
}

export class AdminClient {
  constructor(
    /** The mock's base URL, e.g. `http://127.0.0.1:8080`. */
    readonly baseUrl: string,
    private readonly options: AdminClientOptions = {},
  ) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.options.adminToken) headers.authorization = `Bearer ${this.options.adminToken}`;
    const response = await fetch(`${this.baseUrl}/__understudy${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // Not JSON: kept as text in the error.
    }
    if (!response.ok) throw new AdminError(response.status, parsed, `${method} /__understudy${path}`);
    return parsed as T;
  }

  /** Whether the mock answers. */
  async health(): Promise<boolean> {
    try {
      await this.call('GET', '/health');
      return true;
    } catch {
      return false;
    }
  }

  /** The journal, oldest first, narrowed by `filter`. */
  async requests(filter: RequestFilter = {}): Promise<RecordedRequest[]> {
    const path = filter.since === undefined ? '/requests' : `/requests?since=${filter.since}`;
    const all = await this.call<RecordedRequest[]>('GET', path);
    return all.filter((r) => {
      if (filter.method && r.method.toUpperCase() !== filter.method.toUpperCase()) return false;
      if (typeof filter.path === 'string' && r.path !== filter.path) return false;
      if (filter.path instanceof RegExp && !filter.path.test(r.path)) return false;
      if (filter.status !== undefined && r.status !== filter.status) return false;
      if (filter.faulted !== undefined && Boolean(r.fault) !== filter.faulted) return false;
      return true;
    });
  }

  async clearRequests(): Promise<void> {
    await this.call('DELETE', '/requests');
  }

  async sessions(): Promise<SessionDump[]> {
    return this.call<SessionDump[]>('GET', '/sessions');
  }

  /** One session, or `undefined` when the mock has none by that id. */
  async session(sessionId: string): Promise<SessionDump | undefined> {
    return (await this.sessions()).find((s) => s.session_id === sessionId);
  }

  /** Ends a session as `streaming.stop` would, without its owner's token. */
  async endSession(sessionId: string): Promise<void> {
    await this.call('DELETE', `/sessions/${encodeURIComponent(sessionId)}`);
  }

  /** Forgets every token, session, fault rule and journal entry. */
  async reset(): Promise<void> {
    await this.call('POST', '/reset');
  }

  async stats(): Promise<MockStats> {
    return this.call<MockStats>('GET', '/stats');
  }

  /** Transcripts the session's next user turns carry. Returns how many are queued. */
  async scriptUtterances(sessionId: string, utterances: string[]): Promise<number> {
    const answer = await this.call<{ scripted: number }>('POST', `/sessions/${sessionId}/utterances`, { utterances });
    return answer.scripted;
  }

  /** The user speaks now, for `durationMs`, saying `text` (else the next scripted utterance). */
  async userTurn(sessionId: string, turn: { text?: string; durationMs?: number } = {}): Promise<void> {
    await this.call('POST', `/sessions/${sessionId}/user_turn`, {
      ...(turn.text === undefined ? {} : { text: turn.text }),
      duration_ms: turn.durationMs ?? 800,
    });
  }

  /** Adds a fault rule; returns its id. */
  async addFault(rule: FaultRule): Promise<number> {
    return (await this.call<{ id: number }>('POST', '/faults', rule)).id;
  }

  async faults(): Promise<FaultStatus[]> {
    return this.call<FaultStatus[]>('GET', '/faults');
  }

  async removeFault(id: number): Promise<void> {
    await this.call('DELETE', `/faults/${id}`);
  }

  async clearFaults(): Promise<void> {
    await this.call('DELETE', '/faults');
  }

  /** The latency profile new sessions follow (docs/latency.md). */
  async latency(): Promise<unknown> {
    return this.call('GET', '/latency');
  }

  /** A built-in profile by name (`instant`, `heygen`) or a whole profile. */
  async setLatency(profile: string | Record<string, unknown>): Promise<void> {
    await this.call('PUT', '/latency', { profile });
  }
}
