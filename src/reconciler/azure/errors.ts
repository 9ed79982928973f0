/**
 * Azure errors reduced to what a user can act on: Azure's own code and message from the error body
 * ({"error":{"code","message","details":[...]}}), the HTTP status, and nothing else. Raw SDK errors carry the
 * request (whose body may hold the administrator password); they never leave this module unreduced.
 */
import { isArmThrottledError, parseRetryAfterMs } from './throttle';

export interface AzureError {
  readonly code: string;
  readonly message: string;
  /** HTTP status; undefined for a failed long-running operation (its status was 200 with status "Failed"). */
  readonly statusCode?: number;
  /** Azure's x-ms-failure-cause header: `gateway` when ARM itself answered (e.g. a child whose parent is gone). */
  readonly failureCause?: string;
  /** Azure's Retry-After, when it sent one. */
  readonly retryAfterMs?: number;
}

interface ErrorBody {
  code?: unknown;
  message?: unknown;
  details?: unknown;
}

/** {code, message} from an ARM error body ({error:{...}} or the error object itself), first detail appended. */
export function errorFromBody(body: unknown): { code: string; message: string } | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const outer = body as { error?: ErrorBody } & ErrorBody;
  const err: ErrorBody = outer.error && typeof outer.error === 'object' ? outer.error : outer;
  if (typeof err.code !== 'string' || !err.code) return undefined;
  let message = typeof err.message === 'string' ? err.message : '';
  if (Array.isArray(err.details)) {
    for (const d of err.details as ErrorBody[]) {
      if (d && typeof d.message === 'string' && d.message && !message.includes(d.message)) {
        message = message ? `${message} ${typeof d.code === 'string' ? `(${d.code}) ` : ''}${d.message}` : d.message;
      }
    }
  }
  return { code: err.code, message: message || err.code };
}

/** Reduces anything thrown by the SDK to an AzureError. */
export function toAzureError(e: unknown): AzureError {
  if (isArmThrottledError(e)) return { code: 'TooManyRequests', message: e.message, statusCode: 429, retryAfterMs: e.retryAfterMs };
  const err = e as {
    name?: string;
    code?: unknown;
    message?: unknown;
    statusCode?: number;
    response?: { parsedBody?: unknown; bodyAsText?: string | null; status?: number; headers?: { get(name: string): string | undefined } };
  };
  const statusCode = typeof err?.statusCode === 'number' ? err.statusCode : err?.response?.status;
  const headers = typeof err?.response?.headers?.get === 'function' ? err.response.headers : undefined;
  const failureCause = headers?.get('x-ms-failure-cause') || undefined;
  const retryAfterMs = headers ? parseRetryAfterMs(headers) : undefined;
  const extra = { ...(failureCause ? { failureCause } : {}), ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  let fromBody = errorFromBody(err?.response?.parsedBody);
  if (!fromBody && typeof err?.response?.bodyAsText === 'string') {
    try {
      fromBody = errorFromBody(JSON.parse(err.response.bodyAsText));
    } catch {
      // not JSON
    }
  }
  if (fromBody) return { ...fromBody, statusCode, ...extra };
  const code = typeof err?.code === 'string' && err.code ? err.code : statusCode ? `HTTP${statusCode}` : 'AzureRequestFailed';
  const message = typeof err?.message === 'string' && err.message ? err.message : String(e);
  return { code, message: message.slice(0, 2000), statusCode, ...extra };
}

export function isNotFound(e: unknown): boolean {
  const err = e as { statusCode?: number; code?: string };
  return err?.statusCode === 404 || err?.code === 'ResourceNotFound' || err?.code === 'ResourceGroupNotFound';
}

/** Errors a user must fix (4xx other than 408/409/429): no point retrying soon. */
export function isUserError(e: AzureError): boolean {
  const s = e.statusCode;
  return s !== undefined && s >= 400 && s < 500 && s !== 408 && s !== 409 && s !== 429;
}
