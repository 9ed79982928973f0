/**
 * Server parameters (Azure "configurations") of flexible servers, per PostgreSQL major version: PostgreSQL's own
 * settings (postgres-15-parameters.ts, generated from pg_settings, adjusted here for 14, 16, 17 and 18) and Azure's
 * (azure.*, pgbouncer.*, pg_qs.*, ...). A name that is in neither is refused with the closest match, so a typo fails
 * at synth or before any Azure call instead of in Azure.
 */
import { POSTGRES_15_PARAMETERS } from './postgres-15-parameters';
import { showValue, type Problem } from './problem';
import { POSTGRES_VERSIONS } from './version';

/**
 * How a parameter's value is read: PostgreSQL's types, plus `set` (a comma-separated subset of `values`) and `list`
 * (a comma-separated list of names, such as extension names).
 */
export type ParameterType = 'bool' | 'integer' | 'real' | 'enum' | 'string' | 'set' | 'list';

/** One server parameter: its type, range (in `unit`), allowed values, and whether Azure lets users set it. */
export interface ParameterSpec {
  readonly name: string;
  readonly type: ParameterType;
  readonly min?: number;
  readonly max?: number;
  /** PostgreSQL's base unit of an integer or real: kB, 8kB, MB, B, ms, s or min. Values may name another unit. */
  readonly unit?: string;
  /** The allowed values of an enum or a set, compared case-insensitively. */
  readonly values?: readonly string[];
  /** Set by PostgreSQL or Azure and never by users (compile-time constants, file paths, ports, ...). */
  readonly readOnly?: boolean;
}

/** Azure limits a server to this many parameters in one spec (the CRD's maxProperties) and values to this length. */
export const MAX_SERVER_PARAMETERS = 200;
export const MAX_PARAMETER_VALUE_LENGTH = 1024;

/** Parameter names: lowercase letters, digits, underscores and periods, nothing else (no quoting, no SQL). */
export const PARAMETER_NAME = /^[a-z0-9_.]{1,256}$/;

const MAX_INT = 2147483647;
const bool = (name: string): ParameterSpec => ({ name, type: 'bool' });
const int = (name: string, min?: number, max?: number, unit?: string): ParameterSpec => ({ name, type: 'integer', min, max, unit });
const real = (name: string, min: number, max: number): ParameterSpec => ({ name, type: 'real', min, max });
const oneOf = (name: string, ...values: string[]): ParameterSpec => ({ name, type: 'enum', values });
const setOf = (name: string, ...values: string[]): ParameterSpec => ({ name, type: 'set', values });
const text = (name: string): ParameterSpec => ({ name, type: 'string' });
const names = (name: string): ParameterSpec => ({ name, type: 'list' });
const readOnly = (name: string): ParameterSpec => ({ name, type: 'string', readOnly: true });

const LOG_LEVELS = ['debug5', 'debug4', 'debug3', 'debug2', 'debug1', 'debug', 'info', 'notice', 'warning', 'log'];

/** Settings new in PostgreSQL 15 (absent from 14). */
const ADDED_IN_15 = [
  'archive_library', 'log_startup_progress_interval', 'recovery_prefetch', 'recursive_worktable_factor',
  'shared_memory_size', 'shared_memory_size_in_huge_pages', 'stats_fetch_consistency', 'wal_decode_buffer_size',
];
/** Settings of 14 that 15 removed. */
const REMOVED_IN_15: readonly ParameterSpec[] = [text('stats_temp_directory')];

const ADDED_IN_16: readonly ParameterSpec[] = [
  text('createrole_self_grant'), text('debug_io_direct'), oneOf('debug_logical_replication_streaming', 'buffered', 'immediate'),
  oneOf('debug_parallel_query', 'off', 'on', 'regress'), bool('enable_presorted_aggregate'), bool('gss_accept_delegation'),
  oneOf('icu_validation_level', 'disabled', ...LOG_LEVELS, 'error'), int('max_parallel_apply_workers_per_subscription', 0, 1024),
  int('reserved_connections', 0, 262143), int('scram_iterations', 1, MAX_INT), bool('send_abort_for_crash'),
  bool('send_abort_for_kill'), int('vacuum_buffer_usage_limit', 0, 16777216, 'kB'),
];
const REMOVED_IN_16 = ['force_parallel_mode', 'lc_collate', 'lc_ctype', 'promote_trigger_file', 'vacuum_defer_cleanup_age'];

const ADDED_IN_17: readonly ParameterSpec[] = [
  bool('allow_alter_system'), int('commit_timestamp_buffers', 0, 131072, '8kB'), bool('enable_group_by_reordering'),
  bool('event_triggers'), { ...oneOf('huge_pages_status', 'off', 'on', 'unknown'), readOnly: true },
  int('io_combine_limit', 1, 32, '8kB'), int('max_notify_queue_pages', 64, MAX_INT),
  int('multixact_member_buffers', 16, 131072, '8kB'), int('multixact_offset_buffers', 16, 131072, '8kB'),
  int('notify_buffers', 16, 131072, '8kB'), int('serializable_buffers', 16, 131072, '8kB'),
  int('subtransaction_buffers', 0, 131072, '8kB'), int('transaction_buffers', 0, 131072, '8kB'), bool('summarize_wal'),
  bool('sync_replication_slots'), text('synchronized_standby_slots'), bool('trace_connection_negotiation'),
  int('transaction_timeout', 0, MAX_INT, 'ms'), int('wal_summary_keep_time', 0, 35791394, 'min'),
];
const REMOVED_IN_17 = ['db_user_namespace', 'old_snapshot_threshold', 'trace_recovery_messages'];

const ADDED_IN_18: readonly ParameterSpec[] = [
  int('autovacuum_vacuum_max_threshold', -1, MAX_INT), int('autovacuum_worker_slots', 1, 262143),
  bool('enable_distinct_reordering'), bool('enable_self_join_elimination'), text('extension_control_path'),
  oneOf('file_copy_method', 'copy', 'clone'), int('idle_replication_slot_timeout', 0, MAX_INT, 's'),
  int('io_max_combine_limit', 1, 128, '8kB'), int('io_max_concurrency', -1, 1024), oneOf('io_method', 'sync', 'worker', 'io_uring'),
  int('io_workers', 1, 32), bool('log_lock_failures'), int('max_active_replication_origins', 0, 262143),
  bool('md5_password_warnings'), text('oauth_validator_libraries'), text('ssl_groups'), text('ssl_tls13_ciphers'),
  bool('track_cost_delay_timing'), real('vacuum_max_eager_freeze_failure_rate', 0, 1), bool('vacuum_truncate'),
  { ...int('num_os_semaphores'), readOnly: true },
  // log_connections became a list of aspects (receipt, authentication, authorization, setup_durations, all) in 18.
  text('log_connections'),
];

/**
 * PostgreSQL settings Azure manages itself and does not let users change: files, sockets, ports, archiving and
 * recovery commands, log locations, and switches that could corrupt data.
 */
const MANAGED_BY_AZURE = [
  'allow_system_table_mods', 'archive_cleanup_command', 'archive_command', 'archive_library', 'cluster_name', 'config_file',
  'data_directory', 'data_sync_retry', 'dynamic_library_path', 'event_source', 'external_pid_file', 'hba_file', 'ident_file',
  'ignore_checksum_failure', 'ignore_invalid_pages', 'ignore_system_indexes', 'jit_provider', 'krb_server_keyfile',
  'listen_addresses', 'log_directory', 'log_filename', 'logging_collector', 'port', 'primary_conninfo', 'primary_slot_name',
  'promote_trigger_file', 'recovery_end_command', 'recovery_target', 'recovery_target_action', 'recovery_target_inclusive',
  'recovery_target_lsn', 'recovery_target_name', 'recovery_target_time', 'recovery_target_timeline', 'recovery_target_xid',
  'restore_command', 'ssl_ca_file', 'ssl_cert_file', 'ssl_crl_dir', 'ssl_crl_file', 'ssl_dh_params_file', 'ssl_key_file',
  'ssl_passphrase_command', 'ssl_passphrase_command_supports_reload', 'unix_socket_directories', 'unix_socket_group',
  'unix_socket_permissions', 'zero_damaged_pages',
];

/** Shorthands for a namespace's parameters of one type, e.g. ints('duckdb', 'threads', ...). */
const bools = (prefix: string, ...suffixes: string[]): ParameterSpec[] => suffixes.map(suffix => bool(`${prefix}.${suffix}`));
const ints = (prefix: string, ...suffixes: string[]): ParameterSpec[] => suffixes.map(suffix => int(`${prefix}.${suffix}`));
const texts = (prefix: string, ...suffixes: string[]): ParameterSpec[] => suffixes.map(suffix => text(`${prefix}.${suffix}`));

/**
 * Azure's own parameters and those of the extensions it ships, on every supported major version: the configurations
 * a flexible server lists (GET .../configurations), and those Azure documents for General Purpose and Memory
 * Optimized servers only (pgbouncer.*, index_tuning.*). Ranges are given where Azure documents them.
 */
const AZURE_PARAMETERS: readonly ParameterSpec[] = [
  ...texts('anon', 'algorithm', 'k_anonymity_provider', 'masking_policies', 'maskschema', 'salt', 'sourceschema'),
  ...bools('anon', 'privacy_by_default', 'restrict_to_trusted_schemas', 'strict_mode', 'transparent_dynamic_masking'),
  setOf('azure.accepted_password_auth_method', 'md5', 'scram-sha-256'),
  bool('azure.enable_temp_tablespaces_on_local_ssd'),
  names('azure.extensions'),
  bool('azure.fabric_mirror_enabled'),
  ...bools('azure', 'migration_copy_with_binary', 'migration_skip_analyze', 'migration_skip_extensions',
    'migration_skip_large_objects', 'migration_skip_role_user', 'single_to_flex_migration'),
  int('azure.migration_table_split_size', 1, MAX_INT),
  readOnly('azure.service_principal_id'),
  readOnly('azure.service_principal_tenant_id'),
  ...ints('azure_cdc', 'change_batch_buffer_size', 'change_batch_export_timeout', 'max_fabric_mirrors', 'max_snapshot_workers',
    'onelake_buffer_size', 'snapshot_buffer_size', 'snapshot_export_timeout'),
  text('azure_cdc.parquet_compression'),
  bool('azure_storage.allow_network_access'),
  int('azure_storage.blob_block_size_mb', 1, 4000),
  oneOf('azure_storage.log_level', ...LOG_LEVELS),
  bool('azure_storage.public_account_access'),
  bool('auto_explain.log_analyze'), bool('auto_explain.log_buffers'), oneOf('auto_explain.log_format', 'text', 'xml', 'json', 'yaml'),
  oneOf('auto_explain.log_level', ...LOG_LEVELS), int('auto_explain.log_min_duration', -1, MAX_INT, 'ms'),
  bool('auto_explain.log_nested_statements'), int('auto_explain.log_parameter_max_length', -1, MAX_INT, 'B'),
  bool('auto_explain.log_settings'), bool('auto_explain.log_timing'), bool('auto_explain.log_triggers'),
  bool('auto_explain.log_verbose'), bool('auto_explain.log_wal'), real('auto_explain.sample_rate', 0, 1),
  bool('connection_throttle.enable'), int('connection_throttle.bucket_limit', 1, MAX_INT),
  real('connection_throttle.factor_bias', 0, 0.9), int('connection_throttle.hash_entries_max', 1, 500),
  int('connection_throttle.reset_time', 1, 3600), real('connection_throttle.restore_factor', 1, 100),
  int('connection_throttle.update_time', 1, MAX_INT),
  ...ints('credcheck', 'auth_delay_ms', 'auth_failure_cache_size', 'history_max_size', 'max_auth_failure', 'password_min_digit',
    'password_min_length', 'password_min_lower', 'password_min_repeat', 'password_min_special', 'password_min_upper',
    'password_reuse_history', 'password_reuse_interval', 'password_valid_max', 'password_valid_until', 'username_min_digit',
    'username_min_length', 'username_min_lower', 'username_min_repeat', 'username_min_special', 'username_min_upper'),
  ...bools('credcheck', 'encrypted_password_allowed', 'no_password_logging', 'password_contain_username', 'password_ignore_case',
    'reset_superuser', 'username_contain_password', 'username_ignore_case'),
  ...texts('credcheck', 'password_contain', 'password_not_contain', 'username_contain', 'username_not_contain', 'whitelist',
    'whitelist_auth_failure'),
  text('cron.database_name'), text('cron.host'), oneOf('cron.log_min_messages', ...LOG_LEVELS, 'error', 'fatal', 'panic'),
  text('cron.timezone'), int('cron.max_running_jobs', 0, 5000),
  ...bools('cron', 'enable_superuser_jobs', 'launch_active_jobs', 'log_run', 'log_statement', 'use_background_workers'),
  ...ints('duckdb', 'max_memory', 'max_workers_per_postgres_scan', 'memory_limit', 'threads', 'worker_threads'),
  oneOf('index_tuning.mode', 'off', 'report'),
  int('index_tuning.analysis_interval', 60, 10080, 'min'), int('index_tuning.max_columns_per_index', 1, 10),
  int('index_tuning.max_index_count', 1, 25), int('index_tuning.max_indexes_per_table', 1, 25),
  int('index_tuning.max_queries_per_database', 1, 100), real('index_tuning.max_regression_factor', 0.05, 0.2),
  real('index_tuning.max_total_size_factor', 0, 1), real('index_tuning.min_improvement_factor', 0, 20),
  int('index_tuning.unused_dml_per_table', 1, 9999999), int('index_tuning.unused_min_period', 30, 720),
  int('index_tuning.unused_reads_per_table', 1, 9999999),
  bool('intelligent_tuning'),
  setOf('intelligent_tuning.metric_targets', 'none', 'Storage-checkpoint_completion_target', 'Storage-min_wal_size',
    'Storage-max_wal_size', 'Storage-bgwriter_delay', 'tuning-autovacuum', 'all'),
  bool('logfiles.download_enable'), int('logfiles.retention_days', 1, 7),
  bool('metrics.autovacuum_diagnostics'), bool('metrics.collector_database_activity'), bool('metrics.pgbouncer_diagnostics'),
  bool('pg_partman_bgw.analyze'), text('pg_partman_bgw.dbname'), int('pg_partman_bgw.interval', 1, MAX_INT, 's'),
  bool('pg_partman_bgw.jobmon'), int('pg_partman_bgw.maintenance_wait', 0, MAX_INT, 's'), text('pg_partman_bgw.role'),
  bool('pg_prewarm.autoprewarm'), int('pg_prewarm.autoprewarm_interval', 0, MAX_INT, 's'),
  int('pg_qs.interval_length_minutes', 1, 30), bool('pg_qs.is_enabled_fs'), int('pg_qs.max_captured_queries', 1, MAX_INT),
  int('pg_qs.max_plan_size', 100, 10000), int('pg_qs.max_query_text_length', 100, 10000),
  oneOf('pg_qs.parameters_capture_mode', 'capture_parameterless_only', 'capture_first_sample'),
  oneOf('pg_qs.query_capture_mode', 'none', 'top', 'all'), bool('pg_qs.replace_parameter_placeholders'),
  int('pg_qs.retention_period_in_days', 1, 30), bool('pg_qs.store_query_plans'), bool('pg_qs.track_utility'),
  int('pg_stat_statements.max', 100, MAX_INT), bool('pg_stat_statements.save'),
  oneOf('pg_stat_statements.track', 'none', 'top', 'all'), bool('pg_stat_statements.track_planning'),
  bool('pg_stat_statements.track_utility'),
  bool('pgaadauth.enable_group_sync'),
  bool('pgms_stats.is_enabled_fs'), bool('pgms_wait_sampling.is_enabled_fs'),
  int('pgms_wait_sampling.history_period', 1, 600000, 'ms'), oneOf('pgms_wait_sampling.query_capture_mode', 'none', 'all'),
  names('pgaudit.log'), oneOf('pgaudit.log_level', ...LOG_LEVELS), int('pgaudit.log_parameter_max_size', 0, MAX_INT, 'B'),
  ...bools('pgaudit', 'log_catalog', 'log_client', 'log_parameter', 'log_relation', 'log_rows', 'log_statement', 'log_statement_once'),
  text('pgaudit.role'),
  int('pgbouncer.default_pool_size', 1, 4950), bool('pgbouncer.enabled'), names('pgbouncer.ignore_startup_parameters'),
  int('pgbouncer.max_client_conn', 1, 50000), int('pgbouncer.max_prepared_statements', 0, 5000),
  int('pgbouncer.min_pool_size', 0, 4950), oneOf('pgbouncer.pool_mode', 'session', 'transaction', 'statement'),
  int('pgbouncer.query_wait_timeout', 0, 86400, 's'), int('pgbouncer.server_idle_timeout', 0, 86400, 's'),
  names('pgbouncer.stats_users'),
  bool('pg_hint_plan.enable_hint'), bool('pg_hint_plan.enable_hint_table'),
  oneOf('pg_hint_plan.debug_print', 'off', 'on', 'detailed', 'verbose'), oneOf('pg_hint_plan.message_level', ...LOG_LEVELS),
  oneOf('pg_hint_plan.parse_messages', ...LOG_LEVELS),
  bool('pglogical.batch_inserts'), oneOf('pglogical.conflict_log_level', ...LOG_LEVELS),
  oneOf('pglogical.conflict_resolution', 'error', 'apply_remote', 'keep_local', 'last_update_wins', 'first_update_wins'),
  text('pglogical.extra_connection_options'), bool('pglogical.synchronous_commit'), text('pglogical.temp_directory'),
  bool('pglogical.use_spi'),
  text('postgis.gdal_enabled_drivers'), bool('postgis.enable_outdb_rasters'),
  bool('require_secure_transport'),
  // Azure offers its own choice of libraries; the names are checked, not the choice.
  names('shared_preload_libraries'),
  int('squeeze.max_xlock_time', 0, MAX_INT, 'ms'), names('squeeze.worker_autostart'), text('squeeze.worker_role'),
  int('squeeze.workers_per_database', 1, MAX_INT),
  int('timescaledb.bgw_launcher_poll_time', 0, MAX_INT, 'ms'), bool('timescaledb.disable_load'),
  int('timescaledb.max_background_workers', 0, MAX_INT), bool('timescaledb_osm.disable_load'),
];

/**
 * Azure spells three configuration names with capitals (as PostgreSQL's documentation does); specs use lowercase
 * names only, and whoever reads Azure's configurations matches names case-insensitively or through this map.
 */
export const AZURE_PARAMETER_SPELLING: Readonly<Record<string, string>> = {
  datestyle: 'DateStyle',
  intervalstyle: 'IntervalStyle',
  timezone: 'TimeZone',
};

/** The name Azure lists a parameter under (its configuration name) for a lowercase spec name. */
export function azureParameterName(name: string): string {
  return AZURE_PARAMETER_SPELLING[name] ?? name;
}

const catalogs = new Map<string, ReadonlyMap<string, ParameterSpec>>();

/** The parameters of servers of PostgreSQL `version` (one of POSTGRES_VERSIONS), by name. */
export function serverParameters(version: string): ReadonlyMap<string, ParameterSpec> {
  const cached = catalogs.get(version);
  if (cached) {
    return cached;
  }
  const major = Number(version);
  const catalog = new Map<string, ParameterSpec>(POSTGRES_15_PARAMETERS.map(p => [p.name, p]));
  if (major < 15) {
    ADDED_IN_15.forEach(name => catalog.delete(name));
    REMOVED_IN_15.forEach(p => catalog.set(p.name, p));
  }
  const laterChanges: Array<[number, readonly ParameterSpec[], readonly string[]]> = [
    [16, ADDED_IN_16, REMOVED_IN_16], [17, ADDED_IN_17, REMOVED_IN_17], [18, ADDED_IN_18, []],
  ];
  for (const [since, added, removed] of laterChanges) {
    if (major >= since) {
      removed.forEach(name => catalog.delete(name));
      added.forEach(p => catalog.set(p.name, p));
    }
  }
  for (const name of MANAGED_BY_AZURE) {
    const spec = catalog.get(name);
    if (spec) {
      catalog.set(name, { ...spec, readOnly: true });
    }
  }
  AZURE_PARAMETERS.forEach(p => catalog.set(p.name, p));
  catalogs.set(version, catalog);
  return catalog;
}

/**
 * A problem when `name` is not a parameter users may set on a server of PostgreSQL `version`, or `value` is not one
 * it accepts. An unknown name is answered with the closest known one.
 */
export function checkServerParameter(version: string, name: string, value: unknown): Problem | undefined {
  const field = `parameters.${name}`;
  const knownVersion = POSTGRES_VERSIONS.includes(version) ? version : POSTGRES_VERSIONS[POSTGRES_VERSIONS.length - 1];
  if (!PARAMETER_NAME.test(name)) {
    const lower = name.toLowerCase();
    const fix = PARAMETER_NAME.test(lower) && serverParameters(knownVersion).has(lower) ? `; write it ${lower}` : ' (for example work_mem or pgbouncer.enabled)';
    return { field, value, expected: `a parameter name has only lowercase letters, digits, underscores and periods${fix}` };
  }
  const spec = serverParameters(knownVersion).get(name);
  if (spec === undefined) {
    return { field, value, expected: unknownParameter(knownVersion, name) };
  }
  if (spec.readOnly) {
    return { field, value, expected: `${name} is set by PostgreSQL or Azure and cannot be changed; remove it` };
  }
  if (typeof value !== 'string') {
    return { field, value, expected: 'a parameter value must be a string (quote numbers and booleans, e.g. "500" or "on")' };
  }
  if (value.length > MAX_PARAMETER_VALUE_LENGTH) {
    return { field, value, expected: `a parameter value may have at most ${MAX_PARAMETER_VALUE_LENGTH} characters` };
  }
  const expected = valueProblem(spec, value);
  return expected === undefined ? undefined : { field, value, expected };
}

function unknownParameter(version: string, name: string): string {
  const inOtherVersions = POSTGRES_VERSIONS.filter(v => v !== version && serverParameters(v).has(name));
  if (inOtherVersions.length > 0) {
    return `${name} is not a parameter of PostgreSQL ${version}; it exists in ${inOtherVersions.join(', ')}`;
  }
  const closest = closestName(name, [...serverParameters(version).keys()]);
  return `is not a server parameter of PostgreSQL ${version} on Azure${closest ? `; did you mean ${closest}?` : ''}`;
}

/** The known name nearest `name` by edit distance, if one is near enough to be a likely typo. */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/** Levenshtein distance: insertions, deletions and substitutions. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

const BOOLEAN_VALUES = ['on', 'off', 'true', 'false', 'yes', 'no', '1', '0'];

/** Bytes or milliseconds per unit, for values such as "64MB" or "5min". */
const UNIT_SIZES: Readonly<Record<string, number>> = {
  B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4, us: 0.001, ms: 1, s: 1000, min: 60000, h: 3600000, d: 86400000,
};
const MEMORY_UNITS = ['B', 'kB', 'MB', 'GB', 'TB'];
const TIME_UNITS = ['us', 'ms', 's', 'min', 'h', 'd'];

/** Why `value` does not fit `spec`, or undefined. */
function valueProblem(spec: ParameterSpec, value: string): string | undefined {
  switch (spec.type) {
    case 'bool':
      return BOOLEAN_VALUES.includes(value.toLowerCase()) ? undefined : 'must be on or off (or true/false)';
    case 'enum':
      return (spec.values ?? []).some(v => v.toLowerCase() === value.toLowerCase())
        ? undefined : `must be one of ${(spec.values ?? []).join(', ')}`;
    case 'set': {
      const allowed = (spec.values ?? []).map(v => v.toLowerCase());
      const unknown = value.split(',').map(v => v.trim()).filter(v => !allowed.includes(v.toLowerCase()));
      return unknown.length === 0 ? undefined : `must be a comma-separated list of ${(spec.values ?? []).join(', ')}; unknown: ${unknown.join(', ')}`;
    }
    case 'list':
      return /^\s*-?[A-Za-z0-9_.]+(\s*,\s*-?[A-Za-z0-9_.]+)*\s*$|^\s*$/.test(value)
        ? undefined : 'must be a comma-separated list of names (letters, digits, underscores and periods)';
    case 'integer':
    case 'real':
      return numberProblem(spec, value);
    default:
      return undefined;
  }
}

/** A number, optionally with a unit of the same kind as the parameter's (memory or time), within the range. */
function numberProblem(spec: ParameterSpec, value: string): string | undefined {
  const match = /^\s*(-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  const baseUnit = spec.unit === '8kB' ? 'kB' : spec.unit;
  const baseScale = spec.unit === '8kB' ? 8 : 1;
  const range = spec.min === undefined || spec.max === undefined ? '' : ` from ${spec.min} to ${spec.max}${spec.unit ? ` (in ${spec.unit})` : ''}`;
  const kind = spec.type === 'integer' ? 'a whole number' : 'a number';
  const what = `must be ${kind}${range}${baseUnit ? `, optionally with a unit (${unitsLike(baseUnit).join(', ')})` : ''}`;
  if (!match) {
    return what;
  }
  const [, digits, unit] = match;
  let amount = Number(digits);
  if (unit !== '') {
    if (!baseUnit || !unitsLike(baseUnit).includes(unit)) {
      return what;
    }
    amount = amount * UNIT_SIZES[unit] / (UNIT_SIZES[baseUnit] * baseScale);
  } else if (spec.type === 'integer' && !Number.isInteger(amount)) {
    return what;
  }
  const inRange = (spec.min === undefined || amount >= spec.min) && (spec.max === undefined || amount <= spec.max);
  return inRange ? undefined : `${what}; ${showValue(value)} is out of range`;
}

function unitsLike(unit: string): string[] {
  return MEMORY_UNITS.includes(unit) ? MEMORY_UNITS : TIME_UNITS.includes(unit) ? TIME_UNITS : [];
}
