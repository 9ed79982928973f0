/**
 * PostgreSQL extensions on flexible servers: the catalog Azure supports per major version (what the server parameter
 * azure.extensions may list), the rules of a database's `extensions`, and the allow-list the reconciler keeps on the
 * server (the union of what its databases ask for and what the user set in parameters).
 */
import { isPlainObject, problemsOf, showValue, type Problem } from './problem';
import { POSTGRES_VERSIONS } from './version';

/**
 * The extensions Azure lets azure_pg_admin create on flexible servers (the allowed values of azure.extensions), on
 * every supported major version unless EXTENSIONS_NOT_ON_VERSIONS says otherwise.
 */
export const AZURE_EXTENSIONS: readonly string[] = [
  'address_standardizer', 'address_standardizer_data_us', 'age', 'amcheck', 'anon', 'azure_ai', 'azure_storage', 'bloom',
  'btree_gin', 'btree_gist', 'citext', 'credcheck', 'cube', 'dblink', 'dict_int', 'dict_xsyn', 'earthdistance', 'fuzzystrmatch',
  'hll', 'hstore', 'hypopg', 'intagg', 'intarray', 'ip4r', 'isn', 'lo', 'login_hook', 'ltree', 'oracle_fdw', 'orafce',
  'pageinspect', 'pg_buffercache', 'pg_cron', 'pg_diskann', 'pg_duckdb', 'pg_freespacemap', 'pg_hint_plan', 'pg_partman',
  'pg_prewarm', 'pg_repack', 'pg_squeeze', 'pg_stat_statements', 'pg_trgm', 'pg_visibility', 'pgaudit', 'pgcrypto', 'pglogical',
  'pgrouting', 'pgrowlocks', 'pgstattuple', 'plpgsql', 'plv8', 'postgis', 'postgis_raster', 'postgis_sfcgal',
  'postgis_tiger_geocoder', 'postgis_topology', 'postgres_fdw', 'postgres_protobuf', 'semver', 'session_variable', 'sslinfo',
  'tablefunc', 'tdigest', 'tds_fdw', 'timescaledb', 'topn', 'tsm_system_rows', 'tsm_system_time', 'unaccent', 'uuid-ossp',
  'vector',
];

/** Extensions of the catalog that Azure does not offer on some major versions. */
export const EXTENSIONS_NOT_ON_VERSIONS: Readonly<Record<string, readonly string[]>> = {
  timescaledb: ['17', '18'],
};

/** At most this many extensions per database (the CRD's maxItems). */
export const MAX_DATABASE_EXTENSIONS = 64;

/** What `extensionRemovalPolicy` may say: Retain leaves an extension removed from the spec; Drop drops it. */
export const EXTENSION_REMOVAL_POLICIES: readonly string[] = ['Retain', 'Drop'];
export type ExtensionRemovalPolicy = 'Retain' | 'Drop';

/** The server parameter that holds the allow-list. */
export const EXTENSIONS_PARAMETER = 'azure.extensions';

/** The extensions Azure supports on a major version (every catalog entry when the version is unknown). */
export function supportedExtensions(version: string | undefined): string[] {
  const known = version !== undefined && POSTGRES_VERSIONS.includes(version);
  return AZURE_EXTENSIONS.filter(name => !known || !(EXTENSIONS_NOT_ON_VERSIONS[name] ?? []).includes(version));
}

/**
 * Problems with a database's `extensions`: a list of distinct names Azure supports on the server's major version
 * (`version` undefined: on any version, the check the CRD alone can make).
 */
export function checkExtensions(field: string, names: unknown, version?: string): Problem[] {
  if (names === undefined) return [];
  if (!Array.isArray(names)) return [{ field, value: names, expected: 'must be a list of extension names, such as ["pg_trgm", "vector"]' }];
  const supported = supportedExtensions(version);
  const seen = new Set<string>();
  return problemsOf(
    names.length > MAX_DATABASE_EXTENSIONS ? { field, value: `${names.length} extensions`, expected: `at most ${MAX_DATABASE_EXTENSIONS}` } : undefined,
    ...names.map((name, i): Problem | undefined => {
      if (typeof name !== 'string' || !AZURE_EXTENSIONS.includes(name)) {
        return { field: `${field}[${i}]`, value: name, expected: `is not an extension Azure supports on flexible servers; use one of ${AZURE_EXTENSIONS.join(', ')}` };
      }
      if (!supported.includes(name)) {
        const on = POSTGRES_VERSIONS.filter(v => !(EXTENSIONS_NOT_ON_VERSIONS[name] ?? []).includes(v));
        return { field: `${field}[${i}]`, value: name, expected: `Azure does not offer ${name} on PostgreSQL ${version} (it does on ${on.join(', ')}); remove it or use another server version` };
      }
      if (seen.has(name)) return { field: `${field}[${i}]`, value: name, expected: 'is listed twice; list each extension once' };
      seen.add(name);
      return undefined;
    }),
  );
}

/** The names of an azure.extensions value ("a, b,c" -> [a, b, c]). */
export function parseExtensionList(value: string | undefined): string[] {
  return (value ?? '').split(',').map(s => s.trim()).filter(s => s.length > 0);
}

/**
 * The allow-list the server needs: what the user set in `parameters['azure.extensions']` first, in their order, then
 * each extension its databases ask for that is missing, sorted. Undefined when neither asks for any (Azure's value is
 * then left alone).
 */
export function extensionAllowList(userValue: string | undefined, requested: Iterable<string>): string | undefined {
  const own = parseExtensionList(userValue);
  const added = [...new Set(requested)].filter(name => !own.includes(name)).sort();
  if (userValue === undefined && added.length === 0) return undefined;
  return [...own, ...added].join(',');
}

/** The extensions of `wanted` that an azure.extensions value does not allow. */
export function missingFromAllowList(allowList: string | undefined, wanted: readonly string[]): string[] {
  const allowed = new Set(parseExtensionList(allowList).map(name => name.toLowerCase()));
  return wanted.filter(name => !allowed.has(name.toLowerCase()));
}

/** A server's `parameters` with azure.extensions replaced by the allow-list its databases need. */
export function parametersWithExtensions(parameters: Record<string, string>, requested: Iterable<string>): Record<string, string> {
  if (!isPlainObject(parameters)) return parameters;
  const list = extensionAllowList(parameters[EXTENSIONS_PARAMETER], requested);
  return list === undefined ? parameters : { ...parameters, [EXTENSIONS_PARAMETER]: list };
}

/** A problem when `policy` is not an extension removal policy. */
export function checkExtensionRemovalPolicy(policy: unknown): Problem | undefined {
  return policy === undefined || EXTENSION_REMOVAL_POLICIES.includes(policy as string)
    ? undefined
    : { field: 'extensionRemovalPolicy', value: policy, expected: `must be one of ${EXTENSION_REMOVAL_POLICIES.map(showValue).join(', ')}` };
}
