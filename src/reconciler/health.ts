/**
 * The two small HTTP servers: probes (/healthz, /readyz) and metrics (/metrics), on separate ports as
 * controller-runtime's --health-probe-bind-address and --metrics-bind-address, so metrics can be firewalled or
 * disabled without touching the kubelet's probes.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ReconcilerLogger, errorFields } from './log';

export interface BindAddress {
  /** undefined: all interfaces. */
  readonly host?: string;
  readonly port: number;
}

/** ':8080', '0.0.0.0:8080', '[::1]:8080', '127.0.0.1:0' (any free port); '0' disables (undefined). */
export function parseBindAddress(value: string): BindAddress | undefined {
  if (value === '0') return undefined;
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value);
  if (!m) throw new Error(`"${value}" is not [host]:port (e.g. :8080, 127.0.0.1:8080) or 0 to disable`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`port ${port} in "${value}" is out of range`);
  const host = m[1] ?? m[2];
  return { host: host || undefined, port };
}

export type Route = (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>;

export interface RunningServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function serve(bind: BindAddress, routes: Record<string, Route>, log: ReconcilerLogger): Promise<RunningServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const route = routes[path];
    if (!route || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    Promise.resolve()
      .then(() => route(req, res))
      .catch((err) => {
        log.error({ err: errorFields(err), path }, 'HTTP handler failed');
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end('internal error\n');
      });
  });
  // Probes and scrapes are short; do not let idle keep-alive sockets delay shutdown.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(bind.port, bind.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface Check {
  readonly ok: boolean;
  readonly detail: string;
}

/** /healthz and /readyz from two checks: 200 "ok" or 503 with the reason (also logged at debug). */
export function probeRoutes(live: () => Check, ready: () => Check): Record<string, Route> {
  const route = (check: () => Check): Route => (_req, res) => {
    const c = check();
    res.writeHead(c.ok ? 200 : 503, { 'Content-Type': 'text/plain; charset=utf-8' }).end(c.ok ? 'ok\n' : `${c.detail}\n`);
  };
  return { '/healthz': route(live), '/readyz': route(ready) };
}
