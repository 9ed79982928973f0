/** The custom resources the chaos scenarios create: a server with one database and one app role, by index. */
import { randomBytes } from 'node:crypto';
import { apply, kubectl, readyCondition, tryGetJson } from '../integration/harness';

export const GROUP = 'cdk8s-azure.dev/v1alpha1';
export const RUN_ID = randomBytes(3).toString('hex');

export interface App {
  readonly namespace: string;
  /** The PostgresServer's name; its database and role are `<name>-db` and `<name>-app`. */
  readonly name: string;
  readonly azureName: string;
  readonly resourceGroup: string;
}

export function app(namespace: string, prefix: string, i: number, resourceGroup: string): App {
  return { namespace, name: `${prefix}${i}`, azureName: `${prefix}${i}-${RUN_ID}`, resourceGroup };
}

export function serverCr(a: App, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: GROUP,
    kind: 'PostgresServer',
    metadata: { name: a.name, namespace: a.namespace },
    spec: {
      azureName: a.azureName,
      resourceGroup: { name: a.resourceGroup, create: true },
      location: 'westeurope',
      writeConnectionSecretToRef: { name: `${a.name}-admin` },
      ...spec,
    },
  };
}

export function databaseCr(a: App, suffix = 'db') {
  return {
    apiVersion: GROUP,
    kind: 'PostgresDatabase',
    metadata: { name: `${a.name}-${suffix}`, namespace: a.namespace },
    spec: { serverRef: { name: a.name }, azureName: `app_${suffix}` },
  };
}

export function roleCr(a: App, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: GROUP,
    kind: 'PostgresRole',
    metadata: { name: `${a.name}-app`, namespace: a.namespace },
    spec: {
      serverRef: { name: a.name },
      databaseRef: { name: `${a.name}-db` },
      roleName: 'app_user',
      writeConnectionSecretToRef: { name: `${a.name}-app` },
      ...spec,
    },
  };
}

export function applyAll(objects: unknown[]): void {
  apply(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
}

/** The objects of `kind` in `namespace` that are Ready for their current generation. */
export function readyNames(kind: string, namespace: string): Set<string> {
  const items = JSON.parse(kubectl(['get', kind, '-n', namespace, '-o', 'json']).stdout || '{"items":[]}').items ?? [];
  return new Set(items.filter((o: any) => {
    const c = readyCondition(o) as any;
    return c?.status === 'True' && c.observedGeneration === o.metadata.generation;
  }).map((o: any) => o.metadata.name));
}

export function isReady(kind: string, namespace: string, name: string): boolean {
  const o = tryGetJson(kind, namespace, name);
  const c = readyCondition(o) as any;
  return c?.status === 'True' && c.observedGeneration === o.metadata.generation;
}
