/**
 * PostgreSQL major versions of flexible servers.
 */
import { showValue, type Problem } from './problem';

/** Major versions Azure creates servers on. */
export const POSTGRES_VERSIONS: readonly string[] = ['14', '15', '16', '17', '18'];

/** Retired versions: Azure creates no new server on them. */
export const RETIRED_POSTGRES_VERSIONS: readonly string[] = ['11', '12', '13'];

/** The minor version Azure runs today, per major version (for documentation; Azure applies minors itself). */
export const CURRENT_MINOR_VERSIONS: Readonly<Record<string, string>> = { 16: '16.11', 17: '17.8', 18: '18.3' };

/** A problem when `version` is not a major version Azure creates servers on. */
export function checkPostgresVersion(version: unknown): Problem | undefined {
  if (typeof version === 'string' && POSTGRES_VERSIONS.includes(version)) {
    return undefined;
  }
  if (RETIRED_POSTGRES_VERSIONS.includes(String(version))) {
    return {
      field: 'version',
      value: version,
      expected: `PostgreSQL ${version} is retired: Azure creates no new server on it; choose 17 or 18 (supported: ${POSTGRES_VERSIONS.join(', ')})`,
    };
  }
  return { field: 'version', value: version, expected: `must be one of ${POSTGRES_VERSIONS.map(showValue).join(', ')}` };
}
