/**
 * A PostgresServer made from another one: a read replica (ARM createMode Replica, streaming from its source, promoted
 * on demand) or a point-in-time restore (createMode PointInTimeRestore at pointInTimeUTC). The source is a
 * PostgresServer of the same namespace.
 */
import { problemsOf, type Problem } from './problem';
import { checkBoolean, checkStringRule, DNS_SUBDOMAIN } from './rules';

export type ServerSourceMode = 'Replica' | 'PointInTimeRestore';

export interface NormalizedServerSource {
  mode: ServerSourceMode;
  /** The source PostgresServer (its metadata.name). */
  serverName: string;
  /** PointInTimeRestore: ISO 8601 UTC. */
  pointInTimeUTC?: string;
  /** Replica: promote it to a standalone server (ARM replica.promoteMode standalone). */
  promote?: boolean;
}

/** What the spec may hold (the generated types' shape, read loosely: objects from Kubernetes are plain JSON). */
export interface ServerSourceInput {
  replica?: { sourceServerRef?: { name?: string }; promote?: boolean };
  restore?: { sourceServerRef?: { name?: string }; pointInTimeUTC?: string; pointInTimeUtc?: string };
}

export const SERVER_SOURCE_DEFAULTS = { promote: false } as const;

/** A UTC time in ISO 8601 (the CRD's pattern of restore.pointInTimeUTC). */
export const POINT_IN_TIME_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z$/;

export function normalizeServerSource(s: ServerSourceInput | undefined): NormalizedServerSource | undefined {
  if (s?.replica) {
    return { mode: 'Replica', serverName: s.replica.sourceServerRef?.name as string, promote: s.replica.promote ?? SERVER_SOURCE_DEFAULTS.promote };
  }
  if (s?.restore) {
    return { mode: 'PointInTimeRestore', serverName: s.restore.sourceServerRef?.name as string, pointInTimeUTC: s.restore.pointInTimeUTC ?? s.restore.pointInTimeUtc };
  }
  return undefined;
}

/**
 * Problems with the source of a server that the spec alone shows. The restore time against the source's backups is
 * checked where they are known: at synth (the source's backup.retentionDays) and by the reconciler (Azure's earliest
 * restore point), with pointInTimeProblem.
 */
export function checkServerSource(input: ServerSourceInput | undefined): Problem[] {
  if (input?.replica && input?.restore) {
    return [{ field: 'restore', value: 'restore and replica', expected: 'a server is either a read replica or a restore; remove one of them' }];
  }
  const source = normalizeServerSource(input);
  if (!source) return [];
  const field = source.mode === 'Replica' ? 'replica' : 'restore';
  return problemsOf(
    checkStringRule(`${field}.sourceServerRef.name`, source.serverName, DNS_SUBDOMAIN),
    source.mode === 'Replica' ? checkBoolean('replica.promote', source.promote) : pointInTimeProblem(source.pointInTimeUTC),
  );
}

/** A problem when `time` is not an ISO 8601 UTC time within the source's backups (when known). */
export function pointInTimeProblem(time: unknown, retention?: { days: number; now: Date }, earliest?: Date): Problem | undefined {
  const field = 'restore.pointInTimeUTC';
  if (typeof time !== 'string' || !POINT_IN_TIME_UTC.test(time) || Number.isNaN(Date.parse(time))) {
    return { field, value: time, expected: 'must be a UTC time in ISO 8601, such as 2026-05-01T08:30:00Z' };
  }
  const at = Date.parse(time);
  const now = retention?.now ?? new Date();
  if (at > now.getTime()) return { field, value: time, expected: `is in the future (now is ${now.toISOString()}); choose a time that has passed` };
  const from = earliest ?? (retention ? new Date(now.getTime() - retention.days * 86400_000) : undefined);
  if (from && at < from.getTime()) {
    return {
      field,
      value: time,
      expected: `is before the source's earliest restore point ${from.toISOString()}${retention && !earliest ? ` (its backup.retentionDays is ${retention.days})` : ''}; choose a later time`,
    };
  }
  return undefined;
}
