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
 *
 * Each failure also gets the condition reason it shows as, in PascalCase: Azure's code, the Kubernetes reason, or,
 * when the request got no answer at all, what happened to it (`networkReason`: `AzureUnreachable`,
 * `AzureConnectionLost`, `AzureTimedOut`, `AzureTlsFailed`, and the same for Kubernetes); every failed PostgreSQL
 * connection is `PostgresUnreachable`. Node's errno (`ECONNRESET`) stays in `code` and the message.
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
  /** The condition reason, PascalCase (the code when it is one, else what kind of failure this was). */
  readonly reason: string;
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

/** TLS failures: the peer's certificate is not trusted, or the handshake failed. */
const TLS_CODE = /CERT|SELF_SIGNED|ALTNAME|UNABLE_TO_(GET|VERIFY)|^ERR_SSL_|^ERR_TLS_|^EPROTO$/;
/** Certificate trust in particular: configuration (a CA bundle, a proxy), not something a retry fixes. */
const UNTRUSTED_CERT_CODE = /CERT|SELF_SIGNED|ALTNAME|UNABLE_TO_(GET|VERIFY)/;

/** An established connection that closed before the answer. */
const CONNECTION_LOST_CODES = new Set([
  'ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_ABORTED',
  'ERR_STREAM_PREMATURE_CLOSE', 'ERR_SOCKET_CLOSED', 'ERR_SOCKET_CLOSED_BEFORE_CONNECTION',
]);
const TIMEOUT_CODE = /TIMEDOUT|TIMEOUT/;

/**
 * What happened to a request that got no answer, as a condition reason of `service`: `<service>TimedOut`,
 * `<service>ConnectionLost` (the connection closed under it), `<service>TlsFailed`, or `<service>Unreachable`
 * (refused, not resolved, no route, not sent); without a service, `TimedOut`, `ConnectionLost`... Undefined when
 * `code` is no network or TLS failure.
 */
export function networkReason(service: 'Azure' | 'Kubernetes' | '', code: string): string | undefined {
  if (TLS_CODE.test(code)) return `${service}TlsFailed`;
  if (!NETWORK_CODE.test(code)) return undefined;
  if (TIMEOUT_CODE.test(code)) return `${service}TimedOut`;
  if (CONNECTION_LOST_CODES.has(code)) return `${service}ConnectionLost`;
  return `${service}Unreachable`;
}

/** A service's code as a PascalCase condition reason: letters and digits, the first one upper case. */
function pascalReason(code: string, fallback: string): string {
  const cleaned = code.replace(/[^A-Za-z0-9]/g, '').slice(0, 128);
  return /^[A-Za-z]/.test(cleaned) ? cleaned[0].toUpperCase() + cleaned.slice(1) : fallback;
}

/** An Azure failure: anything the SDK threw, or an AzureError from lro.ts. */
export function classifyAzureError(error: unknown): ClassifiedError {
  if (isArmThrottledError(error)) {
    return { class: 'throttled', source: 'azure', code: 'TooManyRequests', reason: 'TooManyRequests', message: error.message, retryAfterMs: error.retryAfterMs };
  }
  const azure = isAzureError(error) ? error : toAzureError(error);
  const network = azure.statusCode === undefined ? networkReason('Azure', azure.code) : undefined;
  const base = {
    source: 'azure' as const,
    code: azure.code,
    reason: network ?? pascalReason(azure.code, 'AzureError'),
    message: azure.message,
    ...(azure.retryAfterMs !== undefined ? { retryAfterMs: azure.retryAfterMs } : {}),
  };
  if (network && UNTRUSTED_CERT_CODE.test(azure.code)) return { ...base, class: 'userError' };
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
    const code = error.reason || `HTTP${error.statusCode}`;
    const base = { source: 'kubernetes' as const, code, reason: pascalReason(code, 'KubernetesError'), message: error.message };
    if (error.statusCode === 429) return { ...base, class: 'throttled', retryAfterMs: 1000 };
    if (error.statusCode === 404) return { ...base, class: 'transient', notFound: true };
    if (error.statusCode >= 500 || error.statusCode === 409 || error.statusCode === 408) return { ...base, class: 'transient' };
    // 403 (RBAC), 422/400 (a webhook or the schema refused the write): the cluster admin's or the user's to fix.
    return { ...base, class: 'userError' };
  }
  const { code, message } = codeAndMessage(error, 'KubernetesRequestFailed');
  return { source: 'kubernetes', code, reason: networkReason('Kubernetes', code) ?? pascalReason(code, 'KubernetesRequestFailed'), message, class: 'transient' };
}

/**
 * A PostgreSQL failure (a pg error with its SQLSTATE, or Node's connection and TLS errors). For the controllers that
 * talk to PostgreSQL (roles, the database lock-down).
 */
export function classifyPostgresError(error: unknown): ClassifiedError {
  const { code, message } = codeAndMessage(error, 'PostgresError');
  const errorClass = postgresClass(code, message);
  const reason = isPostgresConnectionFailure(code, message) ? 'PostgresUnreachable' : errorClass === 'invalidSpec' ? 'InvalidSpec' : 'PostgresError';
  return { source: 'postgres', code, reason, message, class: errorClass };
}

/**
 * Whether the reconciler could not get a working session: no connection (network, TLS), a connection that broke, the
 * server not accepting connections, or a login refused (password, or pg_hba: outside the firewall rules).
 */
function isPostgresConnectionFailure(code: string, message: string): boolean {
  return NETWORK_CODE.test(code) || TLS_CODE.test(code) || /^(08|28)/.test(code) || code === '57P03'
    || (code === 'PostgresError' && /^(connection terminated|timeout|connection timeout)/i.test(message));
}

function postgresClass(code: string, message: string): ErrorClass {
  // TLS: the server's certificate is not trusted (configuration: --postgres-ca-file).
  if (UNTRUSTED_CERT_CODE.test(code)) return 'userError';
  if (NETWORK_CODE.test(code) || (code === 'PostgresError' && /^(connection terminated|timeout|connection timeout)/i.test(message))) {
    return 'transient';
  }
  const sqlClass = /^[0-9A-Z]{5}$/.test(code) ? code.slice(0, 2) : '';
  switch (sqlClass) {
    case '08': // connection exception
    case '53': // insufficient resources
    case '57': // operator intervention: admin shutdown, crash shutdown, cannot connect now
    case '58': // system error
    case '40': // serialization failure, deadlock
    case 'XX': // internal error
      return 'transient';
    case '55': // object not in prerequisite state (e.g. lock not available)
      return code === '55P03' || code === '55006' ? 'transient' : 'userError';
    case '22': // data exception: a value from the spec does not fit (e.g. a number out of range)
      return 'invalidSpec';
    case '':
      return 'transient';
    default:
      // 28 (authentication), 42 (privilege, undefined object), 3D (no such database), 23, 25...: someone must act.
      return 'userError';
  }
}

/**
 * A PostgreSQL failure as a condition message: `<context>: <code>: <PostgreSQL's message>`, and, when the server's
 * firewall refused the connection (no pg_hba.conf entry for the address), which address to admit and how.
 */
export function postgresConditionMessage(context: string, error: ClassifiedError): string {
  const refused = error.code === '28000' ? /no pg_hba\.conf entry for host "([^"]+)"/.exec(error.message) : null;
  const fix = refused
    ? ` (the server's firewall rules do not admit ${refused[1]}, the address the reconciler connects from: add a PostgresFirewallRule for it, or use private access)`
    : '';
  return `${context}: ${error.code}: ${error.message}${fix}`;
}

/** Any failure: dispatched on its shape. */
export function classifyError(error: unknown): ClassifiedError {
  if (isArmThrottledError(error) || isAzureError(error) || isSdkRestError(error)) return classifyAzureError(error);
  if (error instanceof KubeApiError) return classifyKubernetesError(error);
  const { code } = codeAndMessage(error, '');
  if (/^[0-9A-Z]{5}$/.test(code)) return classifyPostgresError(error);
  const reduced = codeAndMessage(error, 'ReconcileError');
  return { source: 'reconciler', class: 'transient', code: reduced.code, reason: networkReason('', reduced.code) ?? pascalReason(reduced.code, 'ReconcileError'), message: reduced.message };
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
