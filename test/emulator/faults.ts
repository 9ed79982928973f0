/**
 * Fault injection. Faults are rules; each matches requests by a regular expression over "METHOD /path" (no query
 * string) and fires with a probability (`rate`) and/or for a number of times (`count`). Without `match`, a rule
 * applies to ARM requests (paths under /subscriptions), not to the token service or the admin endpoint.
 */

export type FaultKind = 'error' | 'latency' | 'drop' | 'failOperation' | 'cancelOperation' | 'slowOperation';
const KINDS: FaultKind[] = ['error', 'latency', 'drop', 'failOperation', 'cancelOperation', 'slowOperation'];

export interface FaultRule {
  kind: FaultKind;
  /** Regular expression (case-insensitive) over "METHOD /path"; default: ARM requests ("/subscriptions/..."). */
  match?: string;
  /** Probability 0..1 that a matching request is hit; default 1. */
  rate?: number;
  /** Hit at most this many requests, then the rule is spent; default unlimited. */
  count?: number;
  /** error: the status (500, 502, 503 or 429; default 500). */
  status?: number;
  /**
   * error / failOperation / cancelOperation: the ARM error code and message (defaults per status; InternalServerError
   * with Azure's generic message for failOperation, Azure's message for code ServerIsBusy; OperationCancelled for
   * cancelOperation).
   */
  code?: string;
  message?: string;
  /** error with status 429 or 503: Retry-After seconds (default 1). */
  retryAfterSeconds?: number;
  /** latency: added delay in milliseconds (default 1000); slowOperation: added operation duration (default 30000). */
  ms?: number;
  /**
   * drop: 'request' (default) destroys the connection before the request is handled; 'response' handles it (a write
   * takes effect) and destroys the connection instead of answering.
   */
  phase?: 'request' | 'response';
}

export interface FaultOptions {
  /** Probability 0..1 of answering an ARM request with one of `errorStatuses`. */
  errorRate?: number;
  /** Statuses picked at random for `errorRate` (default [500, 503]). */
  errorStatuses?: number[];
  /** Milliseconds added to every ARM request. */
  latencyMs?: number;
  /** Probability 0..1 of destroying the connection without an answer (before handling the request). */
  dropRate?: number;
  /** Probability 0..1 of handling a request and then destroying the connection instead of answering. */
  dropResponseRate?: number;
  /** Probability 0..1 that a long-running operation ends Failed. */
  operationFailureRate?: number;
  /** Code and message of injected operation failures (default InternalServerError). */
  operationFailureCode?: string;
  operationFailureMessage?: string;
  /** Probability 0..1 that a long-running operation ends Canceled (OperationCancelled). */
  operationCancelRate?: number;
  /** Probability 0..1 that a long-running operation takes `slowOperationMs` longer. */
  slowOperationRate?: number;
  slowOperationMs?: number;
  /** Restricts the rate-based faults above to requests matching this regular expression over "METHOD /path". */
  match?: string;
  /** Further rules, e.g. { kind: 'failOperation', match: 'PUT .*\/databases\/', count: 1, code: 'X', message: 'Y' }. */
  rules?: FaultRule[];
}

export interface ActiveRule extends FaultRule {
  hits: number;
}

export const DEFAULT_OPERATION_FAILURE = {
  code: 'InternalServerError',
  message: "An unexpected error occured while processing the request. Tracking ID: '{trackingId}'",
};

export function rulesFrom(opts: FaultOptions | undefined): FaultRule[] {
  if (!opts) return [];
  const rules: FaultRule[] = [];
  const match = opts.match;
  if (opts.dropRate) rules.push({ kind: 'drop', rate: opts.dropRate, match });
  if (opts.dropResponseRate) rules.push({ kind: 'drop', phase: 'response', rate: opts.dropResponseRate, match });
  if (opts.latencyMs) rules.push({ kind: 'latency', ms: opts.latencyMs, match });
  if (opts.errorRate) {
    const statuses = opts.errorStatuses?.length ? opts.errorStatuses : [500, 503];
    // One rule per status, each with an equal share of the rate.
    for (const status of statuses) rules.push({ kind: 'error', status, rate: opts.errorRate / statuses.length, match });
  }
  if (opts.operationFailureRate) {
    rules.push({ kind: 'failOperation', rate: opts.operationFailureRate, code: opts.operationFailureCode, message: opts.operationFailureMessage, match });
  }
  if (opts.operationCancelRate) rules.push({ kind: 'cancelOperation', rate: opts.operationCancelRate, match });
  if (opts.slowOperationRate) rules.push({ kind: 'slowOperation', rate: opts.slowOperationRate, ms: opts.slowOperationMs, match });
  for (const r of opts.rules ?? []) rules.push({ ...r });
  for (const r of rules) {
    if (!KINDS.includes(r.kind)) throw new Error(`unknown fault kind '${r.kind}'`);
    if (r.phase !== undefined && !(r.kind === 'drop' && ['request', 'response'].includes(r.phase))) throw new Error(`phase '${r.phase}' is for drop faults: 'request' or 'response'`);
    if (r.match) new RegExp(r.match, 'i');
    if (r.rate !== undefined && (r.rate < 0 || r.rate > 1)) throw new Error(`fault rate must be within 0..1, got ${r.rate}`);
    if (r.kind === 'error' && r.status !== undefined && ![429, 500, 502, 503, 504].includes(r.status)) {
      throw new Error(`fault status must be 429, 500, 502, 503 or 504, got ${r.status}`);
    }
  }
  return rules;
}

export class Faults {
  private rules: ActiveRule[] = [];
  private options: FaultOptions = {};

  constructor(opts?: FaultOptions) {
    this.set(opts);
  }

  set(opts: FaultOptions | undefined): void {
    const rules = rulesFrom(opts);
    this.options = opts ? JSON.parse(JSON.stringify(opts)) : {};
    this.rules = rules.map((r) => ({ ...r, hits: 0 }));
  }

  add(rule: FaultRule): void {
    const [r] = rulesFrom({ rules: [rule] });
    this.rules.push({ ...r, hits: 0 });
    this.options = { ...this.options, rules: [...(this.options.rules ?? []), rule] };
  }

  clear(): void {
    this.set(undefined);
  }

  describe(): { options: FaultOptions; rules: ActiveRule[] } {
    return { options: this.options, rules: this.rules.map((r) => ({ ...r })) };
  }

  /**
   * The rules of `kind` that fire for this request (each consumes one of its `count`). Latency and slowOperation rules
   * add up; of the other kinds only the first rule that fires counts. For drop rules, `phase` picks request or
   * response drops.
   */
  fire(kind: FaultKind, method: string, path: string, phase?: 'request' | 'response'): ActiveRule[] {
    const subject = `${method.toUpperCase()} ${path}`;
    const out: ActiveRule[] = [];
    for (const r of this.rules) {
      if (r.kind !== kind) continue;
      if (kind === 'drop' && (r.phase ?? 'request') !== (phase ?? 'request')) continue;
      if (r.count !== undefined && r.hits >= r.count) continue;
      const matches = r.match ? new RegExp(r.match, 'i').test(subject) : /^\/subscriptions(\/|$)/i.test(path);
      if (!matches) continue;
      if (Math.random() >= (r.rate ?? 1)) continue;
      r.hits++;
      out.push(r);
      if (kind !== 'latency' && kind !== 'slowOperation') break;
    }
    return out;
  }
}
