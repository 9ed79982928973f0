/**
 * Microsoft Entra sign-in on a server, a step of the server's lifecycle. With spec.authentication.microsoftEntra on:
 *  - the tenant is the spec's or, unset, the tenant of the reconciler's own identity (from its ARM token's claims);
 *  - the server's Entra administrators are exactly the spec's plus the reconciler's own identity (so that it can
 *    create passwordless roles): missing or different ones are put, others removed, one Azure operation at a time;
 *  - while password sign-in is on, the reconciler's Entra administrator is made a member of the password
 *    administrator, so that it can still manage what that one owns once password sign-in is off.
 */
import type { Server, ServerForPatch } from '@azure/arm-postgresql-flexible';
import { DEFAULT_ENTRA_PRINCIPAL_NAME, type EntraAdministrator, type NormalizedServerSpec } from '../../api';
import { reconcilerIdentity, type EntraIdentity } from '../azure/identity';
import type { AdministratorMicrosoftEntra } from '../azure/postgres-arm';
import type { ReconcileResult } from '../contracts';
import { classifyAzureError } from '../errors/classify';
import type { LifecycleContext, LifecycleStep } from './lifecycle/descriptor';
import { afterStart } from './lifecycle/operations';
import { toPgError, withClient } from '../postgres/connect';
import { ensureMembership } from '../postgres/roles';
import { decodeSecretData } from '../secret-contract';
import { failed } from './lifecycle/outcome';

const same = (a: string | undefined, b: string | undefined) => (a ?? '').toLowerCase() === (b ?? '').toLowerCase();

/** The administrators Azure should have: the spec's, and the reconciler's own identity. */
export function desiredAdministrators(spec: NormalizedServerSpec, reconciler: EntraIdentity, principalName: string): EntraAdministrator[] {
  const listed = spec.authentication.administrators.filter((a) => !same(a.objectId, reconciler.objectId));
  return [...listed, { objectId: reconciler.objectId, principalName, principalType: 'ServicePrincipal' }];
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
    try {
      const target = { host, user: spec.administratorLogin, password, database: 'postgres', ca: env.postgresCa };
      if (await withClient(target, (c) => ensureMembership(c, spec.administratorLogin, member))) {
        env.kube.event(object, 'Normal', 'EntraAdministratorMember', `${member} is a member of ${spec.administratorLogin}: it manages what ${spec.administratorLogin} owns once password sign-in is off`);
      }
    } catch (e) {
      // Not a reason to hold the server back: only roles on a server with password sign-in off need it.
      const { code, message } = toPgError(e);
      log.warn({ resource: this.ctx.resourceId, code, error: message }, `could not make ${member} a member of ${spec.administratorLogin}`);
      env.kube.event(object, 'Warning', 'EntraAdministratorNotMember',
        `could not make ${member} a member of ${spec.administratorLogin} (${code}: ${message}); with password sign-in off it cannot grant on what ${spec.administratorLogin} owns`);
    }
    return undefined;
  }
}
