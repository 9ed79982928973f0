/** Request accounting for the admin endpoint: counts by method, resource type and status, and a bounded log. */

export interface RequestLogEntry {
  time: string;
  method: string;
  path: string;
  resourceType: string;
  status: number;
  /**
   * 'throttled' (429 from the token buckets), 'fault' (injected error), 'dropped' (connection destroyed before the
   * request was handled), 'responseDropped' (handled, then the connection destroyed instead of answering: `status` is
   * the answer the client never saw).
   */
  outcome?: 'throttled' | 'fault' | 'dropped' | 'responseDropped';
  principal?: string;
  durationMs: number;
  /** The Retry-After (seconds) of the answer, when it had one: to check that clients wait it out. */
  retryAfterSeconds?: number;
}

export interface RequestCounts {
  total: number;
  byMethod: Record<string, number>;
  byResourceType: Record<string, number>;
  byStatus: Record<string, number>;
  /** "METHOD resourceType status" -> count, e.g. "PUT Microsoft.DBforPostgreSQL/flexibleServers 202". */
  byKey: Record<string, number>;
  /** Accepted creates (not updates) per server name. */
  serverCreates: Record<string, number>;
  /** Accepted PUT/PATCH/DELETE per resource id (lowercase) and method. */
  writesByResource: Record<string, Record<string, number>>;
  throttled: number;
  faults: {
    errors: number;
    drops: number;
    /** Requests handled whose answer was dropped. */
    droppedResponses: number;
    delayed: number;
    failedOperations: number;
    cancelledOperations: number;
    slowedOperations: number;
  };
  /** Writes accepted on a busy server (their operations fail with ServerIsBusy). */
  busyOperations: number;
  /** The last requests (at most 5000), oldest first. */
  log: RequestLogEntry[];
}

const MAX_LOG = 5000;

/** Classifies a request path as a resource type (for counting). */
export function resourceTypeOf(path: string): string {
  const p = path.toLowerCase();
  if (p.startsWith('/admin')) return 'admin';
  if (/\/oauth2\/(v2\.0\/)?token$/.test(p)) return 'entra/token';
  if (p.includes('/discovery/') || p.includes('.well-known')) return 'entra/discovery';
  if (/\/providers\/microsoft\.dbforpostgresql\/locations\/[^/]+\/azureasyncoperation\//.test(p)) return 'Microsoft.DBforPostgreSQL/locations/azureAsyncOperation';
  if (/\/providers\/microsoft\.dbforpostgresql\/locations\/[^/]+\/operationresults\//.test(p)) return 'Microsoft.DBforPostgreSQL/locations/operationResults';
  const child = /\/flexibleservers\/[^/]+\/(databases|firewallrules|configurations|restart|start|stop)(\/|$)/.exec(p);
  if (child) {
    const names: Record<string, string> = { databases: 'databases', firewallrules: 'firewallRules', configurations: 'configurations', restart: 'restart', start: 'start', stop: 'stop' };
    return `Microsoft.DBforPostgreSQL/flexibleServers/${names[child[1]]}`;
  }
  if (p.includes('/providers/microsoft.dbforpostgresql/flexibleservers')) return 'Microsoft.DBforPostgreSQL/flexibleServers';
  if (p.includes('/providers/microsoft.dbforpostgresql/')) return 'Microsoft.DBforPostgreSQL/other';
  if (/^\/subscriptions\/[^/]+\/operationresults\//.test(p)) return 'Microsoft.Resources/operationResults';
  if (/^\/subscriptions\/[^/]+\/resourcegroups/.test(p)) return 'Microsoft.Resources/resourceGroups';
  if (p.startsWith('/subscriptions')) return 'Microsoft.Resources/subscriptions';
  return 'other';
}

export class RequestStats {
  private c!: RequestCounts;

  constructor() {
    this.reset();
  }

  reset(): void {
    this.c = {
      total: 0,
      byMethod: {},
      byResourceType: {},
      byStatus: {},
      byKey: {},
      serverCreates: {},
      writesByResource: {},
      throttled: 0,
      faults: { errors: 0, drops: 0, droppedResponses: 0, delayed: 0, failedOperations: 0, cancelledOperations: 0, slowedOperations: 0 },
      busyOperations: 0,
      log: [],
    };
  }

  record(e: RequestLogEntry): void {
    const c = this.c;
    c.total++;
    const inc = (o: Record<string, number>, k: string) => { o[k] = (o[k] ?? 0) + 1; };
    inc(c.byMethod, e.method);
    inc(c.byResourceType, e.resourceType);
    inc(c.byStatus, String(e.status));
    inc(c.byKey, `${e.method} ${e.resourceType} ${e.status}`);
    if (e.outcome === 'throttled') c.throttled++;
    if (e.outcome === 'fault') c.faults.errors++;
    if (e.outcome === 'dropped') c.faults.drops++;
    if (e.outcome === 'responseDropped') c.faults.droppedResponses++;
    c.log.push(e);
    if (c.log.length > MAX_LOG) c.log.splice(0, c.log.length - MAX_LOG);
  }

  serverCreated(name: string): void {
    this.c.serverCreates[name] = (this.c.serverCreates[name] ?? 0) + 1;
  }

  write(resourceId: string, method: string): void {
    const r = (this.c.writesByResource[resourceId.toLowerCase()] ??= {});
    r[method] = (r[method] ?? 0) + 1;
  }

  delayed(): void {
    this.c.faults.delayed++;
  }

  operationFailed(): void {
    this.c.faults.failedOperations++;
  }

  operationCancelled(): void {
    this.c.faults.cancelledOperations++;
  }

  slowedOperation(): void {
    this.c.faults.slowedOperations++;
  }

  busyOperation(): void {
    this.c.busyOperations++;
  }

  snapshot(): RequestCounts {
    return JSON.parse(JSON.stringify(this.c));
  }
}
