/**
 * The server's administrator credentials, a step of the server's lifecycle. The connection Secret is the source of
 * truth for the password:
 *  - it must be ours (labelled, not another object's) before anything is read from or sent to Azure;
 *  - before a create is sent, the password is in the Secret (a new one, or the one already there): a crash can never
 *    lose it;
 *  - a password that is new, edited in the Secret, or that Azure may not have (adoption) goes with the next update;
 *    PasswordSynced=False is recorded before the Secret changes, so that a crash between the two still sends it;
 *  - once the server is in Azure the Secret has the full contract (host, uri...);
 *  - with password sign-in off there is no password: the Secret holds how to reach the server with an Entra token;
 *    turning it on sends the administrator login with a new password (Azure makes the administrator from them on a
 *    server created without one, and refuses the change without them: EngineCredentialsNotProvided);
 *  - when the server is left in Azure (Retain), the Secret is released from the PostgresServer before its finalizer
 *    goes, so that Kubernetes does not delete the only copy of the password.
 */
import type { Server, ServerForPatch } from '@azure/arm-postgresql-flexible';
import type { NormalizedServerSpec } from '../../api';
import { passwordSignInOff } from '../azure/server-mapping';
import type { ReconcileResult } from '../contracts';
import { generatePassword } from '../password';
import {
  connectionSecretData,
  decodeSecretData,
  passwordFromUri,
  passwordlessSecretData,
  pendingSecretData,
  postgresTokenScope,
  secretCaBundle,
} from '../secret-contract';
import { findCondition, Reason, secretConflict } from './common';
import type { DeletionEnding, LifecycleContext, LifecycleStep, StepDecision } from './lifecycle/descriptor';
import { userProblem } from './lifecycle/outcome';

/** Secondary condition: False while a new administrator password (from the Secret) still has to reach Azure. */
export const PASSWORD_SYNCED = 'PasswordSynced';

export class AdministratorCredentials implements LifecycleStep<Server, Server, ServerForPatch> {
  readonly name = 'administrator credentials';
  private secretData: Record<string, string> = {};

  constructor(private readonly ctx: LifecycleContext<NormalizedServerSpec>) {}

  private get kube() {
    return this.ctx.env.kube;
  }

  private get passwordPending(): boolean {
    return findCondition(this.ctx.status.status.conditions, PASSWORD_SYNCED)?.status === 'False';
  }

  async beforeAzure(): Promise<ReconcileResult | undefined> {
    const { object, spec, status } = this.ctx;
    const secret = await this.kube.getSecret(object.metadata.namespace, spec.secretName);
    const conflict = secretConflict(secret, object);
    if (conflict) return userProblem(status, Reason.SecretConflict, conflict);
    this.secretData = decodeSecretData(secret);
    return undefined;
  }

  async beforeCreate(body: Server): Promise<undefined> {
    const { object, spec, status } = this.ctx;
    if (!spec.authentication.password) return undefined;
    // The password is in the Secret before Azure ever hears of it.
    const password = this.secretData.password || generatePassword(spec.administratorLogin);
    await this.kube.applySecret(object, spec.secretName, pendingSecretData(spec.administratorLogin, password));
    body.administratorLoginPassword = password;
    this.ctx.secrets.push(password);
    status.set('adopted', undefined);
    return undefined;
  }

  async whenFound(server: Server): Promise<StepDecision<ServerForPatch>> {
    const { object, spec, status, env } = this.ctx;
    if (!spec.authentication.password) {
      // No password anywhere: Azure refuses them all, and the Secret says how to come in with a token.
      const host = server.fullyQualifiedDomainName;
      if (host) {
        await this.kube.applySecret(object, spec.secretName,
          passwordlessSecretData({ host, dbname: 'postgres', ca: secretCaBundle(env), tokenScope: postgresTokenScope(env) }));
      }
      return undefined;
    }
    const pending = this.passwordPending;
    // The update that ended in this reconcile carried the pending password.
    const sentNow = pending && this.ctx.completedOperation?.type === 'Update';
    // Password sign-in off in Azure and on in the spec: the update that turns it on must carry the administrator's
    // login and password (Azure makes the administrator from them on a server created without one).
    const turningOn = passwordSignInOff(server);
    let password = this.secretData.password;
    let send = false;
    if (!password) {
      password = generatePassword(spec.administratorLogin);
      send = true;
    } else if (this.ctx.adopting || turningOn) {
      // Azure has the previous owner's password, or none.
      send = true;
    } else if (!sentNow) {
      const edited = this.secretData.uri !== undefined && passwordFromUri(this.secretData.uri) !== password;
      send = edited || pending;
    }
    if (send && !pending) {
      status.condition(PASSWORD_SYNCED, 'False', 'Pending', 'the administrator password in the Secret has not reached Azure yet');
      await status.commit();
    }
    if (sentNow) status.condition(PASSWORD_SYNCED, 'True', 'Synced', 'Azure has the administrator password of the Secret');
    const host = server.fullyQualifiedDomainName;
    await this.kube.applySecret(object, spec.secretName, host
      ? connectionSecretData({ host, dbname: 'postgres', username: spec.administratorLogin, password, ca: secretCaBundle(env) })
      : pendingSecretData(spec.administratorLogin, password));
    if (!send) return undefined;
    this.ctx.secrets.push(password);
    if (turningOn) {
      return { patch: { administratorLogin: spec.administratorLogin, administratorLoginPassword: password }, fields: ['administrator login and password'] };
    }
    return { patch: { administratorLoginPassword: password }, fields: ['administrator password'] };
  }

  async whenInSync(): Promise<undefined> {
    if (!this.ctx.spec.authentication.password) return undefined;
    // In sync: any password that was pending went with the update that just ended.
    if (findCondition(this.ctx.status.status.conditions, PASSWORD_SYNCED)?.status !== 'True') {
      this.ctx.status.condition(PASSWORD_SYNCED, 'True', 'Synced', 'Azure has the administrator password of the Secret');
    }
    return undefined;
  }

  async beforeFinalizerRemoved(ending: DeletionEnding): Promise<void> {
    if (ending === 'Deleted') return;
    const { object, spec } = this.ctx;
    if (!spec.secretName) return;
    if (await this.kube.releaseSecret(object, spec.secretName)) {
      this.kube.event(object, 'Normal', 'SecretReleased',
        `kept the Secret ${spec.secretName} (no longer owned by this PostgresServer): it holds the administrator password of server ${spec.azureName}, which stays in Azure`);
    }
  }
}
