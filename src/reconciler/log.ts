/**
 * JSON logs on stdout (one object per line, as Kubernetes log pipelines expect). The code never passes secrets to the
 * logger; the redaction list is only a safety net for a field that slips through (e.g. a whole options object).
 */
import pino from 'pino';
import type { Logger } from './contracts';
import { LOG_LEVELS, type LogLevel } from '../api/log-level';

export { LOG_LEVELS, type LogLevel };

const SENSITIVE = [
  'password',
  'adminPassword',
  'administratorLoginPassword',
  'token',
  'accessToken',
  'refreshToken',
  'bearerToken',
  'clientSecret',
  'client_secret',
  'secret',
  'authorization',
  'Authorization',
  'cookie',
  'stringData',
  'connectionString',
];

/** pino redaction paths: each sensitive field at the top level and up to two objects deep, and in HTTP headers. */
export const REDACT_PATHS: string[] = [
  ...SENSITIVE,
  ...SENSITIVE.map((f) => `*.${f}`),
  ...SENSITIVE.map((f) => `*.*.${f}`),
  'headers.authorization',
  'headers.Authorization',
  '*.headers.authorization',
  '*.headers.Authorization',
  'req.headers.authorization',
  'req.headers.cookie',
];

export interface ReconcilerLogger extends Logger {
  level: string;
  fatal(obj: object, msg: string): void;
  trace(obj: object, msg: string): void;
  child(bindings: object): ReconcilerLogger;
}

export interface LoggerOptions {
  readonly level?: LogLevel;
  /** Where to write (default stdout); tests pass a stream to inspect output. */
  readonly destination?: pino.DestinationStream;
  readonly base?: Record<string, unknown>;
}

export function createLogger(opts: LoggerOptions = {}): ReconcilerLogger {
  const options: pino.LoggerOptions = {
    level: opts.level ?? 'info',
    base: opts.base ?? { component: 'cdk8s-azure-reconciler' },
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // "level":"info" rather than pino's numeric 30: readable in kubectl logs and log UIs.
    formatters: { level: (label) => ({ level: label }) },
    serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
  };
  // A synchronous stdout destination: the last lines before process.exit() (e.g. "leader election lost") are not lost.
  const logger = pino(options, opts.destination ?? pino.destination({ dest: 1, sync: true }));
  return logger as unknown as ReconcilerLogger;
}

/** A logger that drops everything, for tests. */
export function silentLogger(): ReconcilerLogger {
  return createLogger({ level: 'silent' });
}

/**
 * The loggable part of an error: name, message, code/status and stack. Whole error objects can carry request
 * details (SDK errors keep the HTTP request, headers included), so only these fields are logged.
 */
export function errorFields(err: unknown): { name?: string; message: string; code?: unknown; statusCode?: unknown; stack?: string } {
  if (err instanceof Error) {
    const e = err as Error & { code?: unknown; statusCode?: unknown };
    return { name: e.name, message: e.message, code: e.code, statusCode: e.statusCode, stack: e.stack };
  }
  return { message: String(err) };
}
