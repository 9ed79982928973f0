/**
 * Server parameters (the `configurations` child resource): a realistic subset of what Azure lists, with Azure's
 * defaults, data types and allowed values. `apply` says whether a change reaches the backing PostgreSQL
 * (ALTER SYSTEM + reload; a restart for static ones); Azure-only parameters (azure.extensions, pgaudit.*, ...) are
 * kept and reported but PostgreSQL does not see them.
 */
import { ApiError } from './errors';

export interface ConfigSpec {
  name: string;
  description: string;
  dataType: 'Boolean' | 'Integer' | 'Numeric' | 'Enumeration' | 'String' | 'Set';
  /** Default value, or a function of the server's memory (GiB) and vCores. */
  defaultValue: string | ((memGiB: number, vCores: number) => string);
  allowedValues: string;
  isDynamicConfig: boolean;
  isReadOnly?: boolean;
  unit?: string;
  documentationLink?: string;
  /** Whether the backing PostgreSQL gets the setting (at init and on change). */
  apply: boolean;
}

const PGDOC = (anchor: string) => `https://www.postgresql.org/docs/15/${anchor}`;

/** The allow-list of azure.extensions: the extensions Azure supports on flexible servers (PostgreSQL 14-18). */
const EXTENSIONS = [
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

function maxConnections(memGiB: number): string {
  if (memGiB <= 2) return '50';
  if (memGiB <= 4) return '429';
  if (memGiB <= 8) return '859';
  if (memGiB <= 16) return '1719';
  if (memGiB <= 32) return '3438';
  return '5000';
}

export const CONFIG_SPECS: ConfigSpec[] = [
  { name: 'max_connections', description: 'Sets the maximum number of concurrent connections.', dataType: 'Integer', defaultValue: (m) => maxConnections(m), allowedValues: '25-5000', isDynamicConfig: false, unit: 'connections', documentationLink: PGDOC('runtime-config-connection.html#GUC-MAX-CONNECTIONS'), apply: true },
  { name: 'shared_buffers', description: 'Sets the number of shared memory buffers used by the server. Unit is 8kb. Allowed values are inside the range of 10% - 75% of available memory.', dataType: 'Integer', defaultValue: (m) => String(Math.floor((m * 1024 * 1024 * 0.25) / 8)), allowedValues: '16-1073741823', isDynamicConfig: false, unit: '8KB', documentationLink: PGDOC('runtime-config-resource.html#GUC-SHARED-BUFFERS'), apply: false },
  { name: 'work_mem', description: 'Sets the amount of memory to be used by internal sort operations and hash tables before writing to temporary disk files.', dataType: 'Integer', defaultValue: '4096', allowedValues: '4096-2097151', isDynamicConfig: true, unit: 'KB', documentationLink: PGDOC('runtime-config-resource.html#GUC-WORK-MEM'), apply: true },
  { name: 'maintenance_work_mem', description: 'Sets the maximum memory to be used for maintenance operations.', dataType: 'Integer', defaultValue: (m) => String(Math.min(2097151, Math.max(1024, Math.round(m * 12416)))), allowedValues: '1024-2097151', isDynamicConfig: true, unit: 'KB', documentationLink: PGDOC('runtime-config-resource.html#GUC-MAINTENANCE-WORK-MEM'), apply: true },
  { name: 'effective_cache_size', description: "Sets the planner's assumption about the size of the data cache.", dataType: 'Integer', defaultValue: (m) => String(Math.floor((m * 1024 * 1024 * 0.75) / 8)), allowedValues: '1-2147483647', isDynamicConfig: true, unit: '8KB', documentationLink: PGDOC('runtime-config-query.html#GUC-EFFECTIVE-CACHE-SIZE'), apply: true },
  { name: 'random_page_cost', description: "Sets the planner's estimate of the cost of a nonsequentially fetched disk page.", dataType: 'Numeric', defaultValue: '2', allowedValues: '0-1.79769e+308', isDynamicConfig: true, documentationLink: PGDOC('runtime-config-query.html#GUC-RANDOM-PAGE-COST'), apply: true },
  { name: 'log_min_duration_statement', description: 'Sets the minimum execution time (in milliseconds) above which statements will be logged. -1 disables logging statement durations.', dataType: 'Integer', defaultValue: '-1', allowedValues: '-1-2147483647', isDynamicConfig: true, unit: 'milliseconds', documentationLink: PGDOC('runtime-config-logging.html#GUC-LOG-MIN-DURATION-STATEMENT'), apply: true },
  { name: 'log_statement', description: 'Sets the type of statements logged.', dataType: 'Enumeration', defaultValue: 'none', allowedValues: 'none,ddl,mod,all', isDynamicConfig: true, documentationLink: PGDOC('runtime-config-logging.html#GUC-LOG-STATEMENT'), apply: true },
  { name: 'log_connections', description: 'Logs each successful connection.', dataType: 'Boolean', defaultValue: 'on', allowedValues: 'on,off', isDynamicConfig: true, documentationLink: PGDOC('runtime-config-logging.html#GUC-LOG-CONNECTIONS'), apply: true },
  { name: 'log_disconnections', description: 'Logs end of a session, including duration.', dataType: 'Boolean', defaultValue: 'off', allowedValues: 'on,off', isDynamicConfig: true, documentationLink: PGDOC('runtime-config-logging.html#GUC-LOG-DISCONNECTIONS'), apply: true },
  { name: 'log_checkpoints', description: 'Logs each checkpoint.', dataType: 'Boolean', defaultValue: 'on', allowedValues: 'on,off', isDynamicConfig: true, documentationLink: PGDOC('runtime-config-logging.html#GUC-LOG-CHECKPOINTS'), apply: true },
  { name: 'log_lock_waits', description: 'Logs long lock waits.', dataType: 'Boolean', defaultValue: 'off', allowedValues: 'on,off', isDynamicConfig: true, documentationLink: PGDOC('runtime-config-logging.html#GUC-LOG-LOCK-WAITS'), apply: true },
  { name: 'log_line_prefix', description: 'Controls information prefixed to each log line.', dataType: 'String', defaultValue: '%t-%c-', allowedValues: '[^\']*', isDynamicConfig: true, documentationLink: PGDOC('runtime-config-logging.html#GUC-LOG-LINE-PREFIX'), apply: true },
  { name: 'log_error_verbosity', description: 'Sets the verbosity of logged messages.', dataType: 'Enumeration', defaultValue: 'default', allowedValues: 'terse,default,verbose', isDynamicConfig: true, documentationLink: PGDOC('runtime-config-logging.html#GUC-LOG-ERROR-VERBOSITY'), apply: true },
  { name: 'log_min_messages', description: 'Sets the message levels that are logged.', dataType: 'Enumeration', defaultValue: 'warning', allowedValues: 'debug5,debug4,debug3,debug2,debug1,info,notice,warning,error,log,fatal,panic', isDynamicConfig: true, documentationLink: PGDOC('runtime-config-logging.html#GUC-LOG-MIN-MESSAGES'), apply: true },
  { name: 'statement_timeout', description: 'Sets the maximum allowed duration (in milliseconds) of any statement. 0 turns this off.', dataType: 'Integer', defaultValue: '0', allowedValues: '0-2147483647', isDynamicConfig: true, unit: 'milliseconds', documentationLink: PGDOC('runtime-config-client.html#GUC-STATEMENT-TIMEOUT'), apply: true },
  { name: 'lock_timeout', description: 'Sets the maximum allowed duration (in milliseconds) of any wait for a lock. 0 turns this off.', dataType: 'Integer', defaultValue: '0', allowedValues: '0-2147483647', isDynamicConfig: true, unit: 'milliseconds', documentationLink: PGDOC('runtime-config-client.html#GUC-LOCK-TIMEOUT'), apply: true },
  { name: 'idle_in_transaction_session_timeout', description: 'Sets the maximum allowed duration (in milliseconds) of any idling transaction. 0 turns this off.', dataType: 'Integer', defaultValue: '0', allowedValues: '0-2147483647', isDynamicConfig: true, unit: 'milliseconds', documentationLink: PGDOC('runtime-config-client.html#GUC-IDLE-IN-TRANSACTION-SESSION-TIMEOUT'), apply: true },
  { name: 'idle_session_timeout', description: 'Sets the maximum allowed idle time (in milliseconds) between queries, when not in a transaction. 0 turns this off.', dataType: 'Integer', defaultValue: '0', allowedValues: '0-2147483647', isDynamicConfig: true, unit: 'milliseconds', documentationLink: PGDOC('runtime-config-client.html#GUC-IDLE-SESSION-TIMEOUT'), apply: true },
  { name: 'timezone', description: 'Sets the time zone for displaying and interpreting time stamps.', dataType: 'String', defaultValue: 'UTC', allowedValues: '[A-Za-z0-9/+_:-]+', isDynamicConfig: true, documentationLink: PGDOC('runtime-config-client.html#GUC-TIMEZONE'), apply: true },
  { name: 'track_io_timing', description: 'Collects timing statistics for database I/O activity.', dataType: 'Boolean', defaultValue: 'on', allowedValues: 'on,off', isDynamicConfig: true, documentationLink: PGDOC('runtime-config-statistics.html#GUC-TRACK-IO-TIMING'), apply: true },
  { name: 'autovacuum', description: 'Starts the autovacuum subprocess.', dataType: 'Boolean', defaultValue: 'on', allowedValues: 'on,off', isDynamicConfig: true, documentationLink: PGDOC('runtime-config-autovacuum.html#GUC-AUTOVACUUM'), apply: true },
  { name: 'autovacuum_naptime', description: 'Time to sleep between autovacuum runs.', dataType: 'Integer', defaultValue: '60', allowedValues: '1-2147483', isDynamicConfig: true, unit: 'seconds', documentationLink: PGDOC('runtime-config-autovacuum.html#GUC-AUTOVACUUM-NAPTIME'), apply: true },
  { name: 'max_wal_size', description: 'Sets the WAL size that triggers a checkpoint.', dataType: 'Integer', defaultValue: '2048', allowedValues: '2-2147483647', isDynamicConfig: true, unit: 'megabytes', documentationLink: PGDOC('runtime-config-wal.html#GUC-MAX-WAL-SIZE'), apply: true },
  { name: 'min_wal_size', description: 'Sets the minimum size to shrink the WAL to.', dataType: 'Integer', defaultValue: '80', allowedValues: '2-2147483647', isDynamicConfig: true, unit: 'megabytes', documentationLink: PGDOC('runtime-config-wal.html#GUC-MIN-WAL-SIZE'), apply: true },
  { name: 'wal_level', description: 'It determines how much information is written to the WAL.', dataType: 'Enumeration', defaultValue: 'replica', allowedValues: 'replica,logical', isDynamicConfig: false, documentationLink: PGDOC('runtime-config-wal.html#GUC-WAL-LEVEL'), apply: true },
  { name: 'max_prepared_transactions', description: 'Sets the maximum number of simultaneously prepared transactions.', dataType: 'Integer', defaultValue: '0', allowedValues: '0-262143', isDynamicConfig: false, documentationLink: PGDOC('runtime-config-resource.html#GUC-MAX-PREPARED-TRANSACTIONS'), apply: true },
  { name: 'max_worker_processes', description: 'Sets the maximum number of background processes that the system can support.', dataType: 'Integer', defaultValue: '8', allowedValues: '0-262143', isDynamicConfig: false, documentationLink: PGDOC('runtime-config-resource.html#GUC-MAX-WORKER-PROCESSES'), apply: true },
  { name: 'password_encryption', description: 'Determines the algorithm to use to encrypt the password.', dataType: 'Enumeration', defaultValue: 'scram-sha-256', allowedValues: 'md5,scram-sha-256', isDynamicConfig: true, documentationLink: PGDOC('runtime-config-connection.html#GUC-PASSWORD-ENCRYPTION'), apply: true },
  { name: 'ssl_min_protocol_version', description: 'Sets the minimum SSL/TLS protocol version to use.', dataType: 'Enumeration', defaultValue: 'TLSv1.2', allowedValues: 'TLSv1.2,TLSv1.3', isDynamicConfig: true, documentationLink: PGDOC('runtime-config-connection.html#GUC-SSL-MIN-PROTOCOL-VERSION'), apply: true },
  { name: 'require_secure_transport', description: 'Whether client connections to the server are required to use some form of secure transport.', dataType: 'Boolean', defaultValue: 'on', allowedValues: 'on,off', isDynamicConfig: true, documentationLink: 'https://go.microsoft.com/fwlink/?linkid=2282200', apply: false },
  { name: 'azure.extensions', description: 'Specifies which extensions are allowed to be created in the server.', dataType: 'Set', defaultValue: '', allowedValues: EXTENSIONS.join(','), isDynamicConfig: true, documentationLink: 'https://go.microsoft.com/fwlink/?linkid=2274269', apply: false },
  { name: 'shared_preload_libraries', description: 'Sets which shared libraries are preloaded at server start.', dataType: 'Set', defaultValue: 'pg_cron,pg_stat_statements', allowedValues: 'age,anon,auto_explain,azure_storage,credcheck,pg_cron,pg_duckdb,pg_failover_slots,pg_hint_plan,pg_partman_bgw,pg_prewarm,pg_squeeze,pg_stat_statements,pgaudit,pglogical,timescaledb,wal2json', isDynamicConfig: false, documentationLink: PGDOC('runtime-config-client.html#GUC-SHARED-PRELOAD-LIBRARIES'), apply: false },
  { name: 'pgaudit.log', description: 'Specifies which classes of statements will be logged by session audit logging.', dataType: 'Set', defaultValue: 'none', allowedValues: 'none,read,write,function,role,ddl,misc,all', isDynamicConfig: true, documentationLink: 'https://github.com/pgaudit/pgaudit/blob/master/README.md', apply: false },
  { name: 'pgaudit.log_catalog', description: 'Specifies that session logging should be enabled in the case where all relations in a statement are in pg_catalog.', dataType: 'Boolean', defaultValue: 'on', allowedValues: 'on,off', isDynamicConfig: true, documentationLink: 'https://github.com/pgaudit/pgaudit/blob/master/README.md', apply: false },
  { name: 'pg_qs.query_capture_mode', description: 'Selects which statements are tracked by Query Store.', dataType: 'Enumeration', defaultValue: 'none', allowedValues: 'top,all,none', isDynamicConfig: true, documentationLink: 'https://go.microsoft.com/fwlink/?linkid=2274607', apply: false },
  { name: 'cron.database_name', description: 'Sets the database in which pg_cron metadata is kept.', dataType: 'String', defaultValue: 'postgres', allowedValues: '[A-Za-z0-9_$-]+', isDynamicConfig: false, documentationLink: 'https://github.com/citusdata/pg_cron', apply: false },
  { name: 'intelligent_tuning', description: 'Enables intelligent tuning', dataType: 'Boolean', defaultValue: 'off', allowedValues: 'on,off', isDynamicConfig: true, documentationLink: 'https://go.microsoft.com/fwlink/?linkid=2274150', apply: false },
  { name: 'block_size', description: 'Shows the size of a disk block.', dataType: 'Integer', defaultValue: '8192', allowedValues: '8192-8192', isDynamicConfig: false, isReadOnly: true, documentationLink: PGDOC('runtime-config-preset.html#GUC-BLOCK-SIZE'), apply: false },
  { name: 'server_encoding', description: 'Shows the server (database) character set encoding.', dataType: 'Enumeration', defaultValue: 'UTF8', allowedValues: 'UTF8', isDynamicConfig: false, isReadOnly: true, documentationLink: PGDOC('runtime-config-preset.html#GUC-SERVER-ENCODING'), apply: false },
];

const BY_NAME = new Map(CONFIG_SPECS.map((c) => [c.name.toLowerCase(), c]));

export function configSpec(name: string): ConfigSpec | undefined {
  return BY_NAME.get(name.toLowerCase());
}

export function defaultOf(spec: ConfigSpec, memGiB: number, vCores: number): string {
  return typeof spec.defaultValue === 'function' ? spec.defaultValue(memGiB, vCores) : spec.defaultValue;
}

function invalidValue(spec: ConfigSpec, value: string): ApiError {
  return new ApiError(400, 'InvalidConfigurationValue',
    `The value '${value}' for configuration '${spec.name}' is not valid. The allowed values are '${spec.allowedValues}'.`);
}

/** Validates a value against the spec; returns the value as stored (booleans and enumerations as given). */
export function validateConfigValue(spec: ConfigSpec, value: string): string {
  const v = value.trim();
  const allowed = spec.allowedValues.split(',').map((s) => s.trim().toLowerCase());
  switch (spec.dataType) {
    case 'Boolean': {
      const l = v.toLowerCase();
      const norm = ['on', 'true', '1', 'yes'].includes(l) ? 'on' : ['off', 'false', '0', 'no'].includes(l) ? 'off' : undefined;
      if (!norm) throw invalidValue(spec, value);
      return v.toLowerCase() === 'true' || v.toLowerCase() === 'false' ? norm : v;
    }
    case 'Integer':
    case 'Numeric': {
      const m = /^(-?[\d.e+]+)-(-?[\d.e+]+)$/i.exec(spec.allowedValues);
      const n = Number(v);
      if (v === '' || !Number.isFinite(n) || (spec.dataType === 'Integer' && !/^-?\d+$/.test(v))) throw invalidValue(spec, value);
      if (m && (n < Number(m[1]) || n > Number(m[2]))) throw invalidValue(spec, value);
      return v;
    }
    case 'Enumeration':
      if (!allowed.includes(v.toLowerCase())) throw invalidValue(spec, value);
      return v;
    case 'Set': {
      const items = v.split(',').map((s) => s.trim()).filter(Boolean);
      if (items.some((i) => !allowed.includes(i.toLowerCase()))) throw invalidValue(spec, value);
      return items.join(',');
    }
    case 'String':
      if (!new RegExp(`^(?:${spec.allowedValues})$`).test(v)) throw invalidValue(spec, value);
      return v;
  }
  return v;
}
