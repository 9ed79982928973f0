/** The reconciler's log levels (--log-level, LOG_LEVEL), which the install's `logLevel` is checked against. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
