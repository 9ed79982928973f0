/**
 * Test support for the runtime and Kubernetes tests: a TCP proxy in front of the API server, so integration
 * tests can cut every connection or refuse new ones, as a network partition or an API server restart would, while the
 * client still verifies the real server certificate (TLS passes through untouched).
 */
import * as net from 'node:net';
import { loadKubeConfig, type KubeConfig } from '../../../src/reconciler/kube/client';

export class TcpProxy {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private refusing = false;
  /** Connections accepted so far. */
  connections = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<number> {
    this.server = net.createServer((client) => {
      if (this.refusing) {
        client.destroy();
        return;
      }
      this.connections++;
      const upstream = net.connect(this.target.port, this.target.host);
      this.sockets.add(client);
      this.sockets.add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return (this.server!.address() as net.AddressInfo).port;
  }

  /** Destroys every open connection (both directions), like a reset. */
  cut(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  /** While true, new connections are accepted and immediately closed. */
  refuse(on: boolean): void {
    this.refusing = on;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** A copy of a kubeconfig whose current cluster points at 127.0.0.1:port (the proxy). */
export function kubeConfigVia(kubeconfigFile: string, port: number): KubeConfig {
  const kc = loadKubeConfig(kubeconfigFile);
  const url = new URL(kc.server);
  url.host = `127.0.0.1:${port}`;
  return kc.withServer(url.toString().replace(/\/$/, ''));
}

/** host/port of the current cluster of a kubeconfig file. */
export function serverOf(kubeconfigFile: string): { host: string; port: number } {
  const url = new URL(loadKubeConfig(kubeconfigFile).server);
  return { host: url.hostname, port: Number(url.port || 443) };
}

/** Polls `cond` every 50 ms until it returns truthy; throws with `what` after timeoutMs. */
type Falsy = undefined | null | false | 0 | '';
export async function waitFor<T>(what: string, cond: () => T | Falsy | Promise<T | Falsy>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
