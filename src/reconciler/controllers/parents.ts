/**
 * Children (databases, firewall rules, roles) find their PostgresServer (and database) here, and reach the server as
 * its administrator with the password from the server's connection Secret.
 */
import { findCondition, isBeingDeleted, READY } from './common';
import { DEFAULT_ENTRA_PRINCIPAL_NAME, normalizeServerSpec, type NormalizedServerSpec } from '../../api';
import { entraTokenPassword } from '../azure/identity';
import { parseResourceId, type ArmAddress } from '../azure/resource-id';
import {
  keyString,
  type AnyObject,
  type ControllerEnvironment,
  type Dependency,
  type Kind,
  type ObjectKey,
  type PostgresDatabaseObject,
  type PostgresServerObject,
} from '../contracts';
import { perObject } from '../kube/cache';
import type { PgTarget } from '../postgres/connect';
import { decodeSecretData, postgresTokenScope } from '../secret-contract';

/** The ARM type of a flexible server. */
export const SERVER_ARM_TYPE = 'Microsoft.DBforPostgreSQL/flexibleServers';

/** Azure states in which a server takes no change (a stopped one is started only by its PostgresServer's spec). */
const UNREACHABLE_STATES = new Set(['stopped', 'stopping', 'disabled', 'dropping', 'inaccessible']);

export interface ServerRef {
  readonly obj: PostgresServerObject;
  readonly spec: NormalizedServerSpec;
  /** Ready=True and the FQDN known. */
  readonly ready: boolean;
  /** Why not ready, for messages. */
  readonly state: string;
  /** Where the server is in Azure, once its PostgresServer found it there (status.azureResourceId). */
  readonly azure?: ArmAddress;
  /**
   * The server exists in Azure and Azure can act on it (not stopped, disabled or being dropped; its PostgresServer is
   * not being deleted). Children proceed whenever this holds, whatever the server's Ready condition says (Updating,
   * InvalidSpec, UnsupportedChange...): a database, a firewall rule or a revocation never waits for a server change.
   */
  readonly reachable: boolean;
  /** Why not reachable, for messages. */
  readonly unreachableBecause?: string;
}

export function lookupServer(env: ControllerEnvironment, namespace: string, name: string | undefined): ServerRef | undefined {
  if (!name) return undefined;
  const obj = env.kube.get<PostgresServerObject>('PostgresServer', { namespace, name });
  return obj ? serverRef(obj) : undefined;
}

const serverRef = perObject((obj: PostgresServerObject): ServerRef => {
  const ready = findCondition(obj.status?.conditions, READY);
  const ok = ready?.status === 'True' && !!obj.status?.fullyQualifiedDomainName && !isBeingDeleted(obj);
  const azure = parseResourceId(SERVER_ARM_TYPE, obj.status?.azureResourceId);
  const azureState = (obj.status?.state ?? '').toLowerCase();
  const unreachableBecause = isBeingDeleted(obj)
    ? 'being deleted'
    : !azure
      ? `not in Azure yet (${ready ? ready.reason : 'not reconciled yet'})`
      : UNREACHABLE_STATES.has(azureState)
        ? `${obj.status?.state} in Azure${azureState === 'stopped' ? '; waiting until it is started (its spec.stopped)' : ''}`
        : undefined;
  return {
    obj,
    spec: normalizeServerSpec(obj.spec),
    ready: ok,
    state: isBeingDeleted(obj) ? 'being deleted' : ready ? `${ready.status === 'True' ? 'Ready' : 'not Ready'}: ${ready.reason}` : 'not reconciled yet',
    azure,
    reachable: unreachableBecause === undefined,
    ...(unreachableBecause ? { unreachableBecause } : {}),
  };
});

export interface DatabaseRef {
  readonly obj: PostgresDatabaseObject;
  readonly ready: boolean;
  readonly state: string;
}

export function lookupDatabase(env: ControllerEnvironment, namespace: string, name: string | undefined): DatabaseRef | undefined {
  if (!name) return undefined;
  const obj = env.kube.get<PostgresDatabaseObject>('PostgresDatabase', { namespace, name });
  if (!obj) return undefined;
  const ready = findCondition(obj.status?.conditions, READY);
  return {
    obj,
    ready: ready?.status === 'True' && !isBeingDeleted(obj),
    state: isBeingDeleted(obj) ? 'being deleted' : ready ? `${ready.status === 'True' ? 'Ready' : 'not Ready'}: ${ready.reason}` : 'not reconciled yet',
  };
}

/**
 * Admin connection to `database` on the server, or a reason why there is none yet. As the password administrator
 * (the password from the server's Secret); as the reconciler's Entra administrator identity (a token as the
 * password) when `entra` asks (passwordless roles) or password sign-in is off.
 */
export async function adminTarget(
  env: ControllerEnvironment,
  server: ServerRef,
  database: string,
  options: { entra?: boolean } = {},
): Promise<PgTarget | { missing: string }> {
  const host = server.obj.status?.fullyQualifiedDomainName;
  if (!host) return { missing: `PostgresServer ${server.obj.metadata.name} has no FQDN yet` };
  if (options.entra || !server.spec.authentication.password) {
    if (!server.spec.authentication.microsoftEntra) {
      return { missing: `PostgresServer ${server.obj.metadata.name} has Microsoft Entra sign-in off (spec.authentication.microsoftEntra)` };
    }
    const user = env.entraPrincipalName ?? DEFAULT_ENTRA_PRINCIPAL_NAME;
    return { host, user, password: entraTokenPassword(env.credential, postgresTokenScope(env)), database, ca: env.postgresCa };
  }
  const secret = await env.kube.getSecret(server.obj.metadata.namespace, server.spec.secretName);
  const data = decodeSecretData(secret);
  if (!data.password) return { missing: `the connection Secret ${server.spec.secretName} of PostgresServer ${server.obj.metadata.name} has no password yet` };
  return { host, user: server.spec.administratorLogin, password: data.password, database, ca: env.postgresCa };
}

/** Enqueue the children of `kind` whose spec.<refField>.name is the changed object's name. */
export function childrenOf(env: ControllerEnvironment, parentKind: Kind, childKind: Kind, refField: 'serverRef' | 'databaseRef'): Dependency {
  return {
    kind: parentKind,
    mapToKeys(parent: AnyObject): ObjectKey[] {
      return env.kube
        .list<AnyObject>(childKind, parent.metadata.namespace)
        .filter((c) => (c.spec as Record<string, { name?: string } | undefined>)?.[refField]?.name === parent.metadata.name)
        .map((c) => ({ namespace: c.metadata.namespace, name: c.metadata.name }));
    },
  };
}

/**
 * Enqueue the objects of `kind` on the same server as the changed PostgresFirewallRule: a rule that starts (or stops)
 * admitting the reconciler's address decides whether they can connect, so a connection the firewall refused is tried
 * again as soon as the rule is in place, not after the user-error period.
 */
export function onFirewallRuleChange(env: ControllerEnvironment, kind: Kind): Dependency {
  return {
    kind: 'PostgresFirewallRule',
    mapToKeys(rule: AnyObject): ObjectKey[] {
      const server = (rule.spec as { serverRef?: { name?: string } } | undefined)?.serverRef?.name;
      if (!server) return [];
      return env.kube
        .list<AnyObject>(kind, rule.metadata.namespace)
        .filter((o) => (o.spec as { serverRef?: { name?: string } } | undefined)?.serverRef?.name === server)
        .map((o) => ({ namespace: o.metadata.namespace, name: o.metadata.name }));
    },
  };
}

export { keyString };
