/**
 * Microsoft Entra sign-in on a server, a step of the server's lifecycle. With spec.authentication.microsoftEntra on:
 *  - the tenant is the spec's or, unset, the tenant of the reconciler's own identity (from its ARM token's claims);
 *  - the server's Entra administrators are exactly the spec's plus the reconciler's own identity (so that it can
 *    create passwordless roles): missing or different ones are put, others removed, one Azure operation at a time;
 *  - while password sign-in is on, the reconciler's Entra administrator is made a member of the password
 *    administrator, so that it can still manage what that one owns once password sign-in is off; databases it owns
 *    (Azure made them while password sign-in was off) are given to the password administrator.
 */
import type { Server, ServerForPatch } from '@azure/arm-postgresql-flexible';
import { DEFAULT_ENTRA_PRINCIPAL_NAME, type EntraAdministrator, type NormalizedServerSpec } from '../../api';
import { entraTokenPassword, reconcilerIdentity, type EntraIdentity } from '../azure/identity';
import type { AdministratorMicrosoftEntra } from '../azure/postgres-arm';
import type { ReconcileResult } from '../contracts';
import { classifyAzureError } from '../errors/classify';
import type { LifecycleContext, LifecycleStep } from './lifecycle/descriptor';
import { afterStart } from './lifecycle/operations';
import { toPgError, withClient } from '../postgres/connect';
import { databasesOwnedBy, ensureMembership, giveDatabases } from '../postgres/roles';
import { decodeSecretData, postgresTokenScope } from '../secret-contract';
import { failed } from './lifecycle/outcome';

const same = (a: string | undefined, b: string | undefined) => (a ?? '').toLowerCase() === (b ?? '').toLowerCase();

/**
 * The administrators Azure should have: the reconciler's own identity, first (on a server without password sign-in,
 * Azure gives the databases it creates to an Entra administrator, and the reconciler must own them to lock them
 * down), and the spec's.
 */
export function desiredAdministrators(spec: NormalizedServerSpec, reconciler: EntraIdentity, principalName: string): EntraAdministrator[] {
  const listed = spec.authentication.administrators.filter((a) => !same(a.objectId, reconciler.objectId));
  return [{ objectId: reconciler.objectId, principalName, principalType: 'ServicePrincipal' }, ...listed];
}

/** What to put (missing or different) and what to remove, comparing object IDs ignoring case. */
export function administratorChanges(desired: EntraAdministrator[], inAzure: AdministratorMicrosoftEntra[], tenantId: string | undefined) {
  const objectIdOf = (a: AdministratorMicrosoftEntra) => a.objectId ?? a.name;
  const put = desired.filter((want) => {
    const have = inAzure.find((a) => same(objectIdOf(a), want.objectId));
    return !have || have.principalName !== want.principalName || !same(have.principalType, want.principalType) ||
      (tenantId !== undefined && have.tenantId !== undefined && !same(have.tenantId, tenantId));
  });
  const remove = inAzure.map(objectIdOf).filter((id): id is string => !!id && !desired.some((want) => same(want.objectId, id)));
  return { put, remove };
}

export class EntraSignIn implements LifecycleStep<Server, Server, ServerForPatch> {
  readonly name = 'Microsoft Entra sign-in';
  private identity?: EntraIdentity;

  constructor(private readonly ctx: LifecycleContext<NormalizedServerSpec>) {}

  async beforeAzure(): Promise<ReconcileResult | undefined> {
    const { env, spec, status } = this.ctx;
    if (!spec.authentication.microsoftEntra) return undefined;
    try {
      this.identity = await reconcilerIdentity(env.credential, env.armScope);
    } catch (e) {
      return failed(status, classifyAzureError(e), 'reading the reconciler\'s own Microsoft Entra identity failed');
    }
    spec.authentication.tenantId ??= this.identity.tenantId;
    return undefined;
  }

  async whenInSync(server: Server): Promise<ReconcileResult | undefined> {
    const { arm, at, env, spec, status, object } = this.ctx;
    if (!spec.authentication.microsoftEntra || !this.identity) return undefined;
    const desired = desiredAdministrators(spec, this.identity, env.entraPrincipalName ?? DEFAULT_ENTRA_PRINCIPAL_NAME);
    let inAzure: AdministratorMicrosoftEntra[];
    try {
      inAzure = await arm.listAdministrators(at.resourceGroup, at.name);
    } catch (e) {
      return failed(status, classifyAzureError(e), 'reading the Microsoft Entra administrators failed');
    }
    const tenantId = spec.authentication.tenantId;
    const { put, remove } = administratorChanges(desired, inAzure, tenantId);
    const generation = object.metadata.generation;
    for (const admin of put) {
      const body = { principalName: admin.principalName, principalType: admin.principalType as 'User', ...(tenantId ? { tenantId } : {}) };
      const step = await arm.startPutAdministrator(at.resourceGroup, at.name, admin.objectId, body, generation);
      if (step.status === 'running' || step.status === 'succeeded') {
        env.kube.event(object, 'Normal', 'EntraAdministratorSet', `making ${admin.principalType} ${admin.principalName} (${admin.objectId}) a Microsoft Entra administrator of server ${at.name}`);
      }
      const ended = await afterStart(this.ctx, step, `making ${admin.principalName} (${admin.objectId}) a Microsoft Entra administrator`);
      if (ended) return ended;
    }
    for (const objectId of remove) {
      const step = await arm.startDeleteAdministrator(at.resourceGroup, at.name, objectId, generation);
      if (step.status === 'running' || step.status === 'succeeded') {
        env.kube.event(object, 'Normal', 'EntraAdministratorRemoved', `removing ${objectId} from the Microsoft Entra administrators of server ${at.name} (not in spec.authentication.administrators)`);
      }
      const ended = await afterStart(this.ctx, step, `removing Microsoft Entra administrator ${objectId}`);
      if (ended) return ended;
    }
    return this.memberOfPasswordAdministrator(server);
  }

  private async memberOfPasswordAdministrator(server: Server): Promise<ReconcileResult | undefined> {
    const { env, spec, object, log } = this.ctx;
    const host = server.fullyQualifiedDomainName;
    if (!spec.authentication.password || !host) return undefined;
    const password = decodeSecretData(await env.kube.getSecret(object.metadata.namespace, spec.secretName)).password;
    if (!password) return undefined;
    const member = env.entraPrincipalName ?? DEFAULT_ENTRA_PRINCIPAL_NAME;
    const login = spec.administratorLogin;
    let owned: string[];
    try {
      const target = { host, user: login, password, database: 'postgres', ca: env.postgresCa };
      const made = await withClient(target, async (c) => ({
        joined: await ensureMembership(c, login, member),
        owned: await databasesOwnedBy(c, member),
      }));
      if (made.joined) {
        env.kube.event(object, 'Normal', 'EntraAdministratorMember', `${member} is a member of ${login}: it manages what ${login} owns once password sign-in is off`);
      }
      owned = made.owned;
    } catch (e) {
      // Not a reason to hold the server back: only roles on a server with password sign-in off need it.
      const { code, message } = toPgError(e);
      log.warn({ resource: this.ctx.resourceId, code, error: message }, `could not make ${member} a member of ${login}`);
      env.kube.event(object, 'Warning', 'EntraAdministratorNotMember',
        `could not make ${member} a member of ${login} (${code}: ${message}); with password sign-in off it cannot grant on what ${login} owns`);
      return undefined;
    }
    if (owned.length > 0) await this.giveToPasswordAdministrator(host, member, owned);
    return undefined;
  }

  /**
   * Databases Azure made while password sign-in was off belong to the Entra administrator, and the password
   * administrator may not grant on them: given to the password administrator (the Entra administrator is its member),
   * both administrators manage them, as on a server created with password sign-in.
   */
  private async giveToPasswordAdministrator(host: string, member: string, databases: string[]): Promise<void> {
    const { env, spec, object, log } = this.ctx;
    const login = spec.administratorLogin;
    const asEntra = { host, user: member, password: entraTokenPassword(env.credential, postgresTokenScope(env)), database: 'postgres', ca: env.postgresCa };
    const which = `database${databases.length > 1 ? 's' : ''} ${databases.join(', ')}`;
    try {
      await withClient(asEntra, (c) => giveDatabases(c, databases, login));
      env.kube.event(object, 'Normal', 'DatabaseOwnerChanged', `gave ${which} from ${member} to ${login}: both administrators manage what ${login} owns`);
    } catch (e) {
      const { code, message } = toPgError(e);
      log.warn({ resource: this.ctx.resourceId, code, error: message }, `could not give ${which} to ${login}`);
      env.kube.event(object, 'Warning', 'DatabaseOwnerNotChanged',
        `could not give ${which} from ${member} to ${login} (${code}: ${message}); ${login} cannot grant on ${databases.length > 1 ? 'them' : 'it'}`);
    }
  }
}
