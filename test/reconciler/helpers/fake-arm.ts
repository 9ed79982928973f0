/**
 * A scripted HTTP transport for the Azure SDK (unit tests of the ARM module only; the integration tests use the real
 * ARM emulator). Each request is matched against handlers in order; every request is recorded.
 */
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import type { HttpClient, HttpHeaders, PipelineRequest, PipelineResponse, RawHttpHeaders } from '@azure/core-rest-pipeline';

/** Case-insensitive response headers (what core-rest-pipeline's createHttpHeaders makes). */
export function createHttpHeaders(init: Record<string, string> = {}): HttpHeaders {
  const map = new Map<string, { name: string; value: string }>();
  for (const [k, v] of Object.entries(init)) map.set(k.toLowerCase(), { name: k, value: v });
  const headers: HttpHeaders = {
    get: (name) => map.get(name.toLowerCase())?.value,
    has: (name) => map.has(name.toLowerCase()),
    set: (name, value) => {
      map.set(name.toLowerCase(), { name, value: String(value) });
    },
    delete: (name) => {
      map.delete(name.toLowerCase());
    },
    toJSON: (options) => {
      const out: RawHttpHeaders = {};
      for (const [k, { name, value }] of map) out[options?.preserveCase ? name : k] = value;
      return out;
    },
    [Symbol.iterator]: function* () {
      for (const [k, { value }] of map) yield [k, value] as [string, string];
    },
  };
  return headers;
}

export interface Recorded {
  method: string;
  url: string;
  body?: string;
  at: number;
}

export interface FakeReply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export type Handler = (req: PipelineRequest) => FakeReply | undefined;

export class FakeArm implements HttpClient {
  readonly requests: Recorded[] = [];
  handlers: Handler[] = [];

  on(method: string, urlPattern: RegExp, reply: FakeReply | ((req: PipelineRequest, n: number) => FakeReply)): this {
    let n = 0;
    this.handlers.push((req) => {
      if (req.method !== method || !urlPattern.test(req.url)) return undefined;
      return typeof reply === 'function' ? reply(req, n++) : reply;
    });
    return this;
  }

  count(method: string, urlPattern: RegExp): number {
    return this.requests.filter((r) => r.method === method && urlPattern.test(r.url)).length;
  }

  async sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
    this.requests.push({ method: request.method, url: request.url, body: typeof request.body === 'string' ? request.body : undefined, at: Date.now() });
    let reply: FakeReply | undefined;
    for (const h of this.handlers) {
      reply = h(request);
      if (reply) break;
    }
    reply ??= { status: 404, body: { error: { code: 'ResourceNotFound', message: `no fake for ${request.method} ${request.url}` } } };
    const headers = createHttpHeaders({ 'content-type': 'application/json; charset=utf-8', ...(reply.headers ?? {}) });
    return {
      request,
      status: reply.status,
      headers,
      bodyAsText: reply.body === undefined ? '' : JSON.stringify(reply.body),
    };
  }
}

export class FakeCredential implements TokenCredential {
  calls = 0;
  async getToken(): Promise<AccessToken> {
    this.calls++;
    return { token: 'fake-access-token-SECRET', expiresOnTimestamp: Date.now() + 3600_000 };
  }
}
