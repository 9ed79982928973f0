/**
 * Every failure the reconciler meets, from Azure, Kubernetes or PostgreSQL, is one of four classes, decided here and
 * nowhere else. The class decides what the runtime does (runtime/controller.ts) and whether the resource shows an
 * error condition:
 *
 * | Class         | Retry                                                        | Condition                   |
 * |---------------|--------------------------------------------------------------|-----------------------------|
 * | `transient`   | per-key exponential backoff, growing across failures          | yes, with the code          |
 * | `throttled`   | after Retry-After; the backoff does not grow                 | none: the status is kept    |
 * | `userError`   | slowly (minutes), and at once when the spec or a Secret changes | yes, with the fix         |
 * | `invalidSpec` | never, until the generation changes                          | yes (InvalidSpec)           |
 *
 * Azure's classes come from what Azure really sends: a busy server answers a write with 202 and the operation then
 * fails with `ServerIsBusy` ("Try again later.") or `InternalServerError`; a cancelled operation ends `Canceled` with
 * `OperationCancelled`; a child read after its parent was deleted is a 404 answered by the ARM gateway
 * (`x-ms-failure-cause: gateway`).
 */
import { toAzureError, type AzureError } from '../azure/errors';
import { isArmThrottledError } from '../azure/throttle';
import type { ErrorClass } from '../contracts';
import { KubeApiError } from '../kube/client';

export type { ErrorClass };

export interface ClassifiedError {
  readonly class: ErrorClass;
  readonly source: 'azure' | 'kubernetes' | 'postgres' | 'reconciler';
  /** Azure's error code, the Kubernetes reason, the SQLSTATE or Node's error code. */
  readonly code: string;
  /** The message as the service wrote it (no request, no credential). */
  readonly message: string;
  /** Wait at least this long before trying again (Retry-After). */
  readonly retryAfterMs?: number;
  /** A 404 for an ARM child whose parent (the server) is gone. */
  readonly parentGone?: boolean;
  /** A 404: the resource is not there. */
  readonly notFound?: boolean;
}

/** Azure codes that mean "try again": the service or the server is busy, or the operation was interrupted. */
const AZURE_TRANSIENT_CODES = new Set([
  'serverisbusy',
  'serverbusy',
  'internalservererror',
  'serviceunavailable',
  'serviceisbusy',
  'operationtimedout',
  'gatewaytimeout',
  'badgateway',
  'requesttimeout',
  'operationcancelled',
  'operationcanceled',
  'canceled',
  'cancelled',
  'operationlost',
  'operationfailed',
  'anotheroperationinprogress',
  'operationinprogress',
  'conflict',
  'retryableerror',
  'toomanyrequests',
  'azurerequestfailed',
]);

/** Azure codes that are the caller's to fix although ARM answered with a status that looks retryable (409). */
const AZURE_USER_CODES_ON_CONFLICT = new Set(['serverstopped', 'serverdropping', 'resourcegroupbeingdeleted', 'missingsubscriptionregistration']);

/** Node's network error codes (the request never got an answer). */
const NETWORK_CODE = /^(E[A-Z0-9_]+|UND_ERR_[A-Z_]+|REQUEST_SEND_ERROR|ERR_SOCKET_[A-Z_]+|ERR_STREAM_PREMATURE_CLOSE)$/;

/** An Azure failure: anything the SDK threw, or an AzureError from lro.ts. */
export function classifyAzureError(error: unknown): ClassifiedError {
  if (isArmThrottledError(error)) {
    return { class: 'throttled', source: 'azure', code: 'TooManyRequests', message: error.message, retryAfterMs: error.retryAfterMs };
  }
  const azure = isAzureError(error) ? error : toAzureError(error);
  const base = { source: 'azure' as const, code: azure.code, message: azure.message, ...(azure.retryAfterMs !== undefined ? { retryAfterMs: azure.retryAfterMs } : {}) };
  const code = azure.code.toLowerCase();
  const status = azure.statusCode;
  if (status === 429 || code === 'toomanyrequests') return { ...base, class: 'throttled' };
  if (status === 404 || code === 'resourcenotfound' || code === 'parentresourcenotfound') {
    const parentGone = code === 'parentresourcenotfound' || azure.failureCause?.toLowerCase() === 'gateway';
    return { ...base, class: 'userError', notFound: true, ...(parentGone ? { parentGone } : {}) };
  }
  if (AZURE_USER_CODES_ON_CONFLICT.has(code)) return { ...base, class: 'userError' };
  if (AZURE_TRANSIENT_CODES.has(code) || /^http5\d\d$/.test(code) || NETWORK_CODE.test(azure.code)) return { ...base, class: 'transient' };
  if (status === undefined) {
    // A long-running operation that ended Failed with a code we do not know: Azure's RP errors that the user must act
    // on (quota, invalid values) come with their own code; unknown ones are retried with backoff, never given up on.
    return { ...base, class: /quota|invalid|notallowed|notsupported|notfound|unauthorized|forbidden|denied|limit|exceeded|blocked|password|username/i.test(azure.code) ? 'userError' : 'transient' };
  }
  if (status >= 500 || status === 408 || status === 409) return { ...base, class: 'transient' };
  return { ...base, class: 'userError' };
}

/** A Kubernetes API failure (kube/client.ts's KubeApiError, or a network error). */
export function classifyKubernetesError(error: unknown): ClassifiedError {
  if (error instanceof KubeApiError) {
    const base = { source: 'kubernetes' as const, code: error.reason || `HTTP${error.statusCode}`, message: error.message };
    if (error.statusCode === 429) return { ...base, class: 'throttled', retryAfterMs: 1000 };
    if (error.statusCode === 404) return { ...base, class: 'transient', notFound: true };
    if (error.statusCode >= 500 || error.statusCode === 409 || error.statusCode === 408) return { ...base, class: 'transient' };
    // 403 (RBAC), 422/400 (a webhook or the schema refused the write): the cluster admin's or the user's to fix.
    return { ...base, class: 'userError' };
  }
  const { code, message } = codeAndMessage(error, 'KubernetesRequestFailed');
  return { source: 'kubernetes', code, message, class: 'transient' };
}

/**
 * A PostgreSQL failure (a pg error with its SQLSTATE, or Node's connection and TLS errors). For the controllers that
 * talk to PostgreSQL (roles, the database lock-down).
 */
export function classifyPostgresError(error: unknown): ClassifiedError {
  const { code, message } = codeAndMessage(error, 'PostgresError');
  const base = { source: 'postgres' as const, code, message };
  // TLS: the server's certificate is not trusted (configuration: --postgres-ca-file).
  if (/CERT|SELF_SIGNED|ALTNAME|UNABLE_TO_(GET|VERIFY)/.test(code)) return { ...base, class: 'userError' };
  if (NETWORK_CODE.test(code) || (code === 'PostgresError' && /^(connection terminated|timeout|connection timeout)/i.test(message))) {
    return { ...base, class: 'transient' };
  }
  const sqlClass = /^[0-9A-Z]{5}$/.test(code) ? code.slice(0, 2) : '';
  switch (sqlClass) {
    case '08': // connection exception
    case '53': // insufficient resources
    case '57': // operator intervention: admin shutdown, crash shutdown, cannot connect now
    case '58': // system error
    case '40': // serialization failure, deadlock
    case 'XX': // internal error
      return { ...base, class: 'transient' };
    case '55': // object not in prerequisite state (e.g. lock not available)
      return { ...base, class: code === '55P03' || code === '55006' ? 'transient' : 'userError' };
    case '22': // data exception: a value from the spec does not fit (e.g. a number out of range)
      return { ...base, class: 'invalidSpec' };
    case '':
      return { ...base, class: 'transient' };
    default:
      // 28 (authentication), 42 (privilege, undefined object), 3D (no such database), 23, 25...: someone must act.
      return { ...base, class: 'userError' };
  }
}

/** Any failure: dispatched on its shape. */
export function classifyError(error: unknown): ClassifiedError {
  if (isArmThrottledError(error) || isAzureError(error) || isSdkRestError(error)) return classifyAzureError(error);
  if (error instanceof KubeApiError) return classifyKubernetesError(error);
  const { code } = codeAndMessage(error, '');
  if (/^[0-9A-Z]{5}$/.test(code)) return classifyPostgresError(error);
  const reduced = codeAndMessage(error, 'ReconcileError');
  return { source: 'reconciler', class: 'transient', code: reduced.code, message: reduced.message };
}

/** Whether an Azure read's 404 means the child's parent is gone (not only the child). */
export function isParentGone(error: unknown): boolean {
  return !!classifyAzureError(error).parentGone;
}

function isAzureError(e: unknown): e is AzureError {
  const x = e as Partial<AzureError> | undefined;
  return !!x && typeof x === 'object' && !(e instanceof Error) && typeof x.code === 'string' && typeof x.message === 'string';
}

function isSdkRestError(e: unknown): boolean {
  return e instanceof Error && e.name === 'RestError';
}

function codeAndMessage(error: unknown, fallback: string): { code: string; message: string } {
  const e = error as { code?: unknown; message?: unknown } | undefined;
  const code = typeof e?.code === 'string' && e.code ? e.code : fallback;
  const message = typeof e?.message === 'string' && e.message ? e.message : String(error);
  return { code, message: message.slice(0, 2000) };
}
