/**
 * Long-running ARM operations that never block a worker.
 *
 * Start: the SDK's begin* sends the request and would poll at once; that poll is cut (its request is aborted before it
 * is sent) when Azure answered 201/202 with an operation to follow: an operation Azure just accepted has not ended a
 * round trip later, and Azure's Retry-After says when to ask, so the poll would only spend a read of ARM's bucket. An
 * operation still running is returned with a resume token (core-lro's serialized state: status and the operation URL,
 * never the request body) and the poll URL, for the controller to record in status.operation and requeue after the
 * Retry-After Azure asked for.
 *
 * Resume (a later reconcile, possibly in a new process): begin* with `resumeFrom` restores the poller from the token
 * without sending the request again and polls once. The resource location is removed from the token before resuming:
 * controllers read the resource themselves after an operation ends, so the poll never depends on the method's path
 * arguments.
 */
import type { OperationState, SimplePollerLike } from '@azure/core-lro';
import type { OperationStatus } from '../contracts';
import { errorFromBody, isNotFound, toAzureError, type AzureError } from './errors';
import { isArmThrottledError, parseRetryAfterMs } from './throttle';

/** What the SDK's onResponse callback receives (the subset used here). */
interface RawResponse {
  status: number;
  headers: { get(name: string): string | undefined };
  parsedBody?: unknown;
  bodyAsText?: string | null;
  request?: { method?: string };
}

export type BeginOptions = {
  resumeFrom?: string;
  onResponse?: (raw: any, flat: unknown, error?: unknown) => void;
  /** Aborted once Azure accepted the request (see startLro): the SDK's immediate poll is not sent. */
  abortSignal?: AbortSignal;
};

export type Begin<T> = (options: BeginOptions) => Promise<SimplePollerLike<OperationState<T>, T>>;

export type LroStep<T> =
  /** Still running: record `operation` and look again after `retryAfterMs`. */
  | { status: 'running'; operation: OperationStatus; retryAfterMs?: number }
  | { status: 'succeeded'; result?: T }
  /** Azure said no (initial request rejected, or the operation ended Failed/Canceled): Azure's code and message. */
  | { status: 'failed'; error: AzureError }
  /** The operation cannot be followed any more (its URL is gone, or the token is unreadable): read the resource instead. */
  | { status: 'lost'; error: AzureError };

const FAILED_PREFIX = 'The long-running operation has failed';

/** Keeps the first and the last response seen by the SDK during one begin* call. */
class ResponseCapture {
  first?: RawResponse;
  last?: RawResponse;
  constructor(private readonly onFirst?: (raw: RawResponse) => void) {}
  readonly callback = (raw: RawResponse): void => {
    if (!this.first) {
      this.first = raw;
      this.onFirst?.(raw);
    }
    this.last = raw;
  };
}

/** The initial answer of a long-running operation that is to be polled: 201/202 with an operation to follow. */
function isAcceptedForPolling(raw: RawResponse): boolean {
  return tokenFromInitialResponse(raw) !== undefined;
}

/** The name of the error core-rest-pipeline throws for an aborted request. */
function isAbort(e: unknown): boolean {
  return e instanceof Error && e.name === 'AbortError';
}

interface SerializedState {
  state?: {
    status?: string;
    config?: { metadata?: { mode?: string }; operationLocation?: string; resourceLocation?: string };
    result?: unknown;
    error?: unknown;
  };
}

export function parseResumeToken(token: string): SerializedState | undefined {
  try {
    const parsed = JSON.parse(token) as SerializedState;
    return parsed && typeof parsed === 'object' && parsed.state && typeof parsed.state === 'object' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Throws when a token holds anything but the poller's state (status, mode, operation and resource URLs), or one of
 * the `secrets`. Tokens are stored in status, readable by anyone who can read the resource.
 */
export function assertSafeResumeToken(token: string, secrets: readonly string[] = []): void {
  const parsed = parseResumeToken(token);
  if (!parsed?.state) throw new Error('resume token is not a serialized poller state');
  const allowedState = new Set(['status', 'config']);
  for (const k of Object.keys(parsed.state)) {
    if (!allowedState.has(k)) throw new Error(`resume token holds an unexpected field state.${k}`);
  }
  const allowedConfig = new Set(['metadata', 'operationLocation', 'resourceLocation']);
  for (const k of Object.keys(parsed.state.config ?? {})) {
    if (!allowedConfig.has(k)) throw new Error(`resume token holds an unexpected field state.config.${k}`);
  }
  if (/password|bearer|authorization|client_secret|access_token/i.test(token)) throw new Error('resume token holds a credential-like field');
  for (const s of secrets) {
    if (s && token.includes(s)) throw new Error('resume token holds a secret');
  }
}

function safeToken(token: string, secrets: readonly string[]): string | undefined {
  try {
    assertSafeResumeToken(token, secrets);
    return token;
  } catch {
    return undefined;
  }
}

/** A token for an operation whose initial response was accepted but whose poller was lost (the first poll threw). */
function tokenFromInitialResponse(raw: RawResponse | undefined): string | undefined {
  if (!raw || (raw.status !== 201 && raw.status !== 202)) return undefined;
  const asyncOp = raw.headers.get('operation-location') ?? raw.headers.get('azure-asyncoperation');
  const location = raw.headers.get('location');
  if (asyncOp) return JSON.stringify({ state: { status: 'running', config: { metadata: { mode: 'OperationLocation' }, operationLocation: asyncOp } } });
  if (location) return JSON.stringify({ state: { status: 'running', config: { metadata: { mode: 'ResourceLocation' }, operationLocation: location } } });
  return undefined;
}

function operationStatus(
  type: OperationStatus['type'],
  token: string,
  capture: ResponseCapture,
  previous: OperationStatus | undefined,
  generation: number | undefined,
): OperationStatus {
  const parsed = parseResumeToken(token);
  const initial = previous ? undefined : capture.first;
  const locationUrl = initial?.headers.get('location') ?? (previous as (OperationStatus & { locationUrl?: string }) | undefined)?.locationUrl;
  const op: OperationStatus & { locationUrl?: string } = {
    type,
    pollUrl: parsed?.state?.config?.operationLocation ?? previous?.pollUrl,
    resumeToken: token,
    startedAt: previous?.startedAt ?? new Date().toISOString(),
    generation: previous ? previous.generation : generation,
  };
  if (locationUrl && locationUrl !== op.pollUrl) op.locationUrl = locationUrl;
  return op;
}

function failedError(capture: ResponseCapture, e: unknown): AzureError {
  const body = errorFromBody(capture.last?.parsedBody ?? tryJson(capture.last?.bodyAsText));
  if (body) return { ...body };
  const message = e instanceof Error ? e.message : String(e);
  // "The long-running operation has failed. Code. Message"
  const m = /^The long-running operation has failed\. ([^.]+)\. ([\s\S]*)$/.exec(message);
  if (m) return { code: m[1], message: m[2] };
  return { code: 'OperationFailed', message };
}

function tryJson(text: string | null | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export interface StartOptions {
  type: OperationStatus['type'];
  /** metadata.generation whose spec the operation applies. */
  generation?: number;
  /** Values that must never end up in the resume token (e.g. the password sent in the request). */
  secrets?: readonly string[];
}

/**
 * Sends the request of a long-running operation; an operation Azure accepted to follow is returned running, without
 * the SDK's immediate poll (see the file comment). Throws only ArmThrottledError (nothing lost).
 */
export async function startLro<T>(begin: Begin<T>, opts: StartOptions): Promise<LroStep<T>> {
  const cut = new AbortController();
  const capture = new ResponseCapture((raw) => {
    if (isAcceptedForPolling(raw)) cut.abort();
  });
  try {
    const poller = await begin({ onResponse: capture.callback, abortSignal: cut.signal });
    return stepFromPoller(poller, capture, opts.type, undefined, opts.generation, opts.secrets ?? []);
  } catch (e) {
    const accepted = capture.first && capture.first.status >= 200 && capture.first.status < 300;
    if (isOperationFailure(e)) return { status: 'failed', error: failedError(capture, e) };
    if (accepted) {
      // Accepted, and the poll cut or failed: follow the operation from its initial answer, never send it again.
      const token = tokenFromInitialResponse(capture.first);
      if (token) {
        const retryAfterMs = isArmThrottledError(e)
          ? e.retryAfterMs
          : isAbort(e) && capture.first ? parseRetryAfterMs(capture.first.headers) : undefined;
        return {
          status: 'running',
          operation: operationStatus(opts.type, token, capture, undefined, opts.generation),
          retryAfterMs,
        };
      }
    }
    if (isArmThrottledError(e)) throw e;
    return { status: 'failed', error: toAzureError(e) };
  }
}

/** Polls a recorded operation once (resumeFrom). Throws only ArmThrottledError. */
export async function resumeLro<T>(begin: Begin<T>, operation: OperationStatus, secrets: readonly string[] = []): Promise<LroStep<T>> {
  const parsed = operation.resumeToken ? parseResumeToken(operation.resumeToken) : undefined;
  if (!parsed?.state?.config?.operationLocation) {
    return { status: 'lost', error: { code: 'OperationLost', message: 'the recorded Azure operation has no usable resume token' } };
  }
  // The controller reads the resource itself afterwards: no final GET through the method's path template.
  const { resourceLocation: _drop, ...config } = parsed.state.config;
  const resumeFrom = JSON.stringify({ state: { status: parsed.state.status ?? 'running', config } });
  const capture = new ResponseCapture();
  try {
    const poller = await begin({ resumeFrom, onResponse: capture.callback });
    return stepFromPoller(poller, capture, operation.type, operation, operation.generation, secrets);
  } catch (e) {
    if (isArmThrottledError(e)) throw e;
    if (isOperationFailure(e)) return { status: 'failed', error: failedError(capture, e) };
    const err = toAzureError(e);
    if (isNotFound(e) || err.statusCode === 404 || err.statusCode === 410) return { status: 'lost', error: err };
    // Transient (5xx after retries, network): keep the operation, try again later.
    return { status: 'running', operation, retryAfterMs: 30_000 };
  }
}

function isOperationFailure(e: unknown): boolean {
  return e instanceof Error && (e.message.startsWith(FAILED_PREFIX) || e.message === 'Operation was canceled');
}

function stepFromPoller<T>(
  poller: SimplePollerLike<OperationState<T>, T>,
  capture: ResponseCapture,
  type: OperationStatus['type'],
  previous: OperationStatus | undefined,
  generation: number | undefined,
  secrets: readonly string[],
): LroStep<T> {
  const state = poller.getOperationState();
  if (state.status === 'succeeded') return { status: 'succeeded', result: poller.getResult() };
  if (state.status === 'failed' || state.status === 'canceled') {
    return { status: 'failed', error: failedError(capture, state.error ?? new Error(`operation ${state.status}`)) };
  }
  const retryAfterMs = capture.last ? parseRetryAfterMs(capture.last.headers) : undefined;
  const token = safeToken(poller.toString(), secrets) ?? tokenFromInitialResponse(previous ? undefined : capture.first);
  if (!token) {
    if (previous) return { status: 'running', operation: previous, retryAfterMs };
    return { status: 'lost', error: { code: 'OperationLost', message: 'Azure accepted the request but returned no operation to follow' } };
  }
  return { status: 'running', operation: operationStatus(type, token, capture, previous, generation), retryAfterMs };
}
