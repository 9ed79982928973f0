/**
 * Deleting a PostgresRole. A delete is done only when it is done: the finalizer stays, and the Ready condition says
 * why, until the role is dropped, or the server is gone from Azure (a 404 from ARM; a PostgresServer being deleted is
 * not proof), or the role is retained.
 *
 * Retain (the role's own deletionPolicy or, unset, its server's) keeps the role and its credentials: the Secret is
 * released from the PostgresRole so that garbage collection does not delete it.
 */
import { checkRoleName, normalizeRoleSpec, type NormalizedRoleSpec } from '../../../api';
import type { ArmAddress } from '../../azure/resource-id';
import { FINALIZER, type ErrorClass, type PostgresRoleObject, type ReconcileResult } from '../../contracts';
import { withClient, type PgTarget } from '../../postgres/connect';
import { dropRole } from '../../postgres/roles';
import { hasFinalizer, namespaceEnv, Reason, StatusBuilder } from '../common';
import { adminTarget, lookupDatabase, lookupServer } from '../parents';
import {
  notReady,
  postgresFailure,
  SERVER_ANNOTATION,
  recordedServerAddress,
  serverGoneFromAzure,
  type RoleContext,
  type RoleStatus,
} from './context';

export async function finalizeRole(ctx: RoleContext, obj: PostgresRoleObject): Promise<ReconcileResult> {
  if (!hasFinalizer(obj, FINALIZER)) return {};
  return new RoleDeletion(ctx, obj).run();
}

class RoleDeletion {
  private readonly r: NormalizedRoleSpec;
  private readonly sb: RoleStatus;

  constructor(private readonly ctx: RoleContext, private readonly obj: PostgresRoleObject) {
    this.r = normalizeRoleSpec(obj.spec);
    this.sb = new StatusBuilder(ctx.env, obj);
  }

  async run(): Promise<ReconcileResult> {
    const { ctx, obj, r } = this;
    const server = lookupServer(ctx.env, obj.metadata.namespace, r.serverName);
    const policy = r.deletionPolicy ?? server?.spec.deletionPolicy;
    if (policy === 'Retain') {
      return this.retain(`deletionPolicy Retain${r.deletionPolicy ? '' : ` (PostgresServer ${r.serverName}'s)`}`);
    }
    // A role name that is not a valid one was never created by this PostgresRole.
    if (checkRoleName('roleName', r.roleName)) return this.done('Deleted', 'spec.roleName was never valid: no role was created');
    // Recorded before PostgreSQL is first touched; the Secret is written (owned by this PostgresRole) before the role
    // is created. A Secret of that name that this PostgresRole does not own is no sign of either.
    const secret = r.secretName ? await ctx.env.kube.getSecret(obj.metadata.namespace, r.secretName) : undefined;
    const touched = obj.metadata.annotations?.[SERVER_ANNOTATION] !== undefined
      || !!secret?.metadata?.ownerReferences?.some((ref) => ref.uid === obj.metadata.uid);
    if (!touched && !server?.obj.status?.fullyQualifiedDomainName) {
      return this.done('Deleted', `role ${r.roleName} was never set up on a server: nothing to drop`);
    }
    const at = recordedServerAddress(obj, server);
    if (!server) return this.serverResourceGone(at);

    const database = lookupDatabase(ctx.env, obj.metadata.namespace, r.databaseName);
    const dbname = database?.obj.spec.azureName ?? 'postgres';
    const target = server.obj.status?.fullyQualifiedDomainName
      ? await adminTarget(namespaceEnv(ctx.env, ctx.azure(obj.metadata.namespace)), server, dbname)
      : { missing: `PostgresServer ${r.serverName} has no FQDN` };
    if ('missing' in target) return this.unreachable(at, target.missing);
    try {
      const outcome = await dropIn(target, dbname, r.roleName, obj.metadata.uid);
      if (outcome === 'notOwned') return await this.done('NotDropped', `role ${r.roleName} is not managed by this PostgresRole: left in place`);
      return await this.done('Deleted', outcome === 'dropped' ? `dropped role ${r.roleName}` : `role ${r.roleName} was already gone`);
    } catch (e) {
      const f = postgresFailure(e, `dropping role ${r.roleName}`);
      if (f.failure === 'transient' || f.reason === Reason.PostgresUnreachable) return this.unreachable(at, f.message, f.failure);
      return notReady(this.sb, f.reason, `${f.message}; the finalizer stays until the role is dropped`, { failure: f.failure });
    }
  }

  /** The PostgresServer is gone: Azure tells whether its server went with it or was kept (retained, or never its own). */
  private async serverResourceGone(at: ArmAddress | undefined): Promise<ReconcileResult> {
    const { r } = this;
    if (!at) {
      return notReady(this.sb, Reason.Deleting,
        `role ${r.roleName} is not dropped: PostgresServer ${r.serverName} is gone and this PostgresRole does not record which Azure server ` +
        'it was on. Drop the role by hand if it exists, then remove the finalizer', { failure: 'userError' });
    }
    if (await serverGoneFromAzure(this.ctx, this.obj.metadata.namespace, at)) return this.done('Deleted', `server ${at.name} is gone from Azure; role ${r.roleName} went with it`);
    if (r.deletionPolicy === undefined) {
      return this.retain(`PostgresServer ${r.serverName} is gone and server ${at.name} is still in Azure (retained): the role follows its server's policy`);
    }
    return notReady(this.sb, Reason.Deleting,
      `role ${r.roleName} is not dropped yet (deletionPolicy Delete): PostgresServer ${r.serverName} is gone, server ${at.name} is still in ` +
      'Azure, and without its administrator credentials the role cannot be dropped. Create the PostgresServer again, or drop the role by ' +
      'hand and remove the finalizer', { failure: 'userError' });
  }

  /** The server cannot be reached: done if it is gone from Azure, else the finalizer stays and the condition says why. */
  private async unreachable(at: ArmAddress | undefined, why: string, failure: ErrorClass = 'transient'): Promise<ReconcileResult> {
    const { r } = this;
    if (at && (await serverGoneFromAzure(this.ctx, this.obj.metadata.namespace, at))) return this.done('Deleted', `server ${at.name} is gone from Azure; role ${r.roleName} went with it`);
    return notReady(this.sb, Reason.PostgresUnreachable,
      `role ${r.roleName} is not dropped yet: ${why}. The finalizer stays until the server can be reached, or is gone from Azure`,
      { failure });
  }

  private async retain(why: string): Promise<ReconcileResult> {
    const { r } = this;
    const released = r.secretName ? await this.ctx.env.kube.releaseSecret(this.obj, r.secretName) : false;
    return this.done('Retained', `${why}: role ${r.roleName} is left on the server` +
      (released ? `, and Secret ${r.secretName} is kept (released from this PostgresRole) with its password` : ''));
  }

  private async done(reason: string, message: string): Promise<ReconcileResult> {
    this.ctx.env.kube.event(this.obj, 'Normal', reason, message);
    await this.ctx.env.kube.removeFinalizer(this.obj, FINALIZER);
    return {};
  }
}

/** Drops the role from its database; when that database is gone, from the postgres database. */
async function dropIn(target: PgTarget, dbname: string, roleName: string, uid: string) {
  try {
    return await withClient(target, (c) => dropRole(c, roleName, uid));
  } catch (e) {
    if ((e as { code?: string }).code === '3D000' && dbname !== 'postgres') {
      return withClient({ ...target, database: 'postgres' }, (c) => dropRole(c, roleName, uid));
    }
    throw e;
  }
}
