/**
 * PostgresFirewallRule: an IPv4 range allowed to reach a PostgresServer with public access.
 */
import {
  guard,
  hasFinalizer,
  isBeingDeleted,
  jitter,
  OperationMemory,
  pollDelay,
  Reason,
  rethrowThrottling,
  StatusBuilder,
  type Timing,
} from './common';
import { childrenOf, lookupServer, parseChildId } from './parents';
import { isUserError, reasonFromCode, toAzureError, type AzureError } from '../azure/errors';
import type { PostgresArm } from '../azure/postgres-arm';
import {
  FINALIZER,
  keyString,
  type AzureChildStatus,
  type Controller,
  type ControllerEnvironment,
  type Dependency,
  type Logger,
  type ObjectKey,
  type OperationStatus,
  type PostgresFirewallRuleObject,
  type ReconcileResult,
} from '../contracts';

type Builder = StatusBuilder<AzureChildStatus>;

const IPV4 = /^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/;

export function ipv4ToNumber(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

export function normalizeFirewallSpec(spec: PostgresFirewallRuleObject['spec']) {
  return {
    serverName: spec?.serverRef?.name,
    azureName: spec?.azureName,
    startIpAddress: spec?.startIpAddress,
    endIpAddress: spec?.endIpAddress,
    deletionPolicy: spec?.deletionPolicy === 'Retain' ? 'Retain' : 'Delete',
  };
}

export function validateFirewallSpec(f: ReturnType<typeof normalizeFirewallSpec>): string[] {
  const p: string[] = [];
  if (!f.serverName) p.push('spec.serverRef.name is required');
  if (!f.azureName || !/^[-\w]{1,128}$/.test(f.azureName)) p.push('spec.azureName must be 1-128 letters, digits, hyphens and underscores');
  const startOk = !!f.startIpAddress && IPV4.test(f.startIpAddress);
  const endOk = !!f.endIpAddress && IPV4.test(f.endIpAddress);
  if (!startOk) p.push('spec.startIpAddress must be an IPv4 address such as 203.0.113.10');
  if (!endOk) p.push('spec.endIpAddress must be an IPv4 address such as 203.0.113.20');
  if (startOk && endOk && ipv4ToNumber(f.startIpAddress) > ipv4ToNumber(f.endIpAddress)) {
    p.push(`spec.endIpAddress (${f.endIpAddress}) must not be below spec.startIpAddress (${f.startIpAddress}); swap them`);
  }
  return p;
}

export class PostgresFirewallRuleController implements Controller {
  readonly kind = 'PostgresFirewallRule' as const;
  readonly dependsOn: Dependency[];
  private readonly memory = new OperationMemory();
  private readonly log: Logger;

  constructor(private readonly env: ControllerEnvironment, private readonly arm: PostgresArm, private readonly timing: Timing) {
    this.log = env.log.child({ controller: this.kind });
    this.dependsOn = [childrenOf(env, 'PostgresServer', this.kind, 'serverRef')];
  }

  reconcile(key: ObjectKey): Promise<ReconcileResult> {
    return guard(this.env, this.log, this.kind, key, () => this.run(key));
  }

  private async run(key: ObjectKey): Promise<ReconcileResult> {
    const { kube } = this.env;
    let obj = kube.get<PostgresFirewallRuleObject>(this.kind, key);
    if (!obj) {
      this.memory.forget(key);
      return {};
    }
    if (isBeingDeleted(obj)) return this.finalize(obj);
    if (!hasFinalizer(obj, FINALIZER)) obj = await kube.addFinalizer(obj, FINALIZER);
    const f = normalizeFirewallSpec(obj.spec);
    const sb: Builder = new StatusBuilder(this.env, obj);
    const problems = validateFirewallSpec(f);
    if (problems.length > 0) {
      sb.ready('False', Reason.InvalidSpec, problems.join('; '));
      await sb.commit();
      return {};
    }
    const server = lookupServer(this.env, obj.metadata.namespace, f.serverName);
    if (!server || !server.ready) {
      sb.ready('False', Reason.WaitingForServer, `waiting for PostgresServer ${f.serverName} to be Ready (${server ? server.state : 'not found'})`);
      await sb.commit();
      return { requeueAfterMs: jitter(this.timing.waitMs) };
    }
    if (server.spec.network.delegatedSubnetResourceId) {
      sb.ready('False', Reason.InvalidSpec, `PostgresServer ${f.serverName} uses private access (a delegated subnet); firewall rules apply only to servers with public access`);
      await sb.commit();
      return {};
    }
    const rg = server.spec.resourceGroup.name;
    const srv = server.spec.azureName;

    const op = this.memory.current(obj);
    if (op) {
      const step = await this.arm.resumeFirewallRuleOperation(rg, srv, f.azureName, op);
      if (step.status === 'running') return this.running(obj, sb, step.operation, step.retryAfterMs);
      this.memory.remember(obj, undefined);
      sb.setOperation(undefined);
      if (step.status === 'failed') return this.azureFailure(sb, step.error, `${op.type === 'Create' ? 'creating' : 'updating'} firewall rule ${f.azureName} failed`);
    }

    let rule;
    try {
      rule = await this.arm.getFirewallRule(rg, srv, f.azureName);
    } catch (e) {
      rethrowThrottling(e);
      return this.azureFailure(sb, toAzureError(e), `reading firewall rule ${f.azureName} failed`);
    }
    if (!rule || rule.startIpAddress !== f.startIpAddress || rule.endIpAddress !== f.endIpAddress) {
      const type = rule ? 'Update' : 'Create';
      this.log.info({ key: keyString(key), rule: f.azureName, type }, 'writing firewall rule');
      const body = { startIpAddress: f.startIpAddress, endIpAddress: f.endIpAddress };
      const step = await this.arm.startPutFirewallRule(rg, srv, f.azureName, body, type, obj.metadata.generation);
      if (step.status === 'running') return this.running(obj, sb, step.operation, step.retryAfterMs);
      if (step.status !== 'succeeded') return this.azureFailure(sb, step.error, `${type === 'Create' ? 'creating' : 'updating'} firewall rule ${f.azureName} failed`);
      rule = await this.arm.getFirewallRule(rg, srv, f.azureName);
      if (!rule) {
        sb.ready('False', Reason.Creating, `firewall rule ${f.azureName} written; reading it`);
        await sb.commit();
        return { requeueAfterMs: this.timing.minPollMs };
      }
    }
    sb.set('azureResourceId', rule.id);
    sb.ready('True', Reason.Available, `Firewall rule ${f.azureName} admits ${f.startIpAddress}-${f.endIpAddress} to server ${srv}`);
    await sb.commit();
    return { requeueAfterMs: jitter(this.timing.resyncMs) };
  }

  private async running(obj: PostgresFirewallRuleObject, sb: Builder, op: OperationStatus, retryAfterMs?: number): Promise<ReconcileResult> {
    sb.setOperation(op);
    const reason = op.type === 'Delete' ? Reason.Deleting : op.type === 'Create' ? Reason.Creating : Reason.Updating;
    sb.ready('False', reason, `${reason.toLowerCase()} firewall rule ${obj.spec.azureName} (Azure operation in progress)`);
    this.memory.remember(obj, op);
    await sb.commit();
    return { requeueAfterMs: pollDelay(this.timing, retryAfterMs) };
  }

  private async azureFailure(sb: Builder, error: AzureError, context: string): Promise<ReconcileResult> {
    sb.ready('False', reasonFromCode(error.code), `${context}: Azure ${error.code}: ${error.message}`);
    await sb.commit();
    return { requeueAfterMs: jitter(error.statusCode !== undefined && isUserError(error) ? this.timing.userErrorMs : this.timing.transientErrorMs) };
  }

  private async finalize(obj: PostgresFirewallRuleObject): Promise<ReconcileResult> {
    const { kube } = this.env;
    if (!hasFinalizer(obj, FINALIZER)) return {};
    const f = normalizeFirewallSpec(obj.spec);
    const sb: Builder = new StatusBuilder(this.env, obj);
    const done = async (reason: string, message: string): Promise<ReconcileResult> => {
      this.memory.forget(obj.metadata);
      kube.event(obj, 'Normal', reason, message);
      await kube.removeFinalizer(obj, FINALIZER);
      return {};
    };
    if (f.deletionPolicy === 'Retain') return done('Retained', `deletionPolicy Retain: firewall rule ${f.azureName} is left on the server`);
    const server = lookupServer(this.env, obj.metadata.namespace, f.serverName);
    const fromId = parseChildId(obj.status?.azureResourceId);
    const rg = server?.spec.resourceGroup.name ?? fromId?.resourceGroup;
    const srv = server?.spec.azureName ?? fromId?.server;
    if (!rg || !srv || !f.azureName) return done('Deleted', 'nothing was created in Azure');

    const op = this.memory.current(obj);
    if (op) {
      const step = await this.arm.resumeFirewallRuleOperation(rg, srv, f.azureName, op);
      if (step.status === 'running') return this.running(obj, sb, step.operation, step.retryAfterMs);
      this.memory.remember(obj, undefined);
      sb.setOperation(undefined);
      if (step.status === 'failed' && op.type === 'Delete') return this.azureFailure(sb, step.error, `deleting firewall rule ${f.azureName} failed`);
    }
    let rule;
    try {
      rule = await this.arm.getFirewallRule(rg, srv, f.azureName);
    } catch (e) {
      rethrowThrottling(e);
      return this.azureFailure(sb, toAzureError(e), `reading firewall rule ${f.azureName} failed`);
    }
    if (!rule) return done('Deleted', `firewall rule ${f.azureName} is gone`);
    const step = await this.arm.startDeleteFirewallRule(rg, srv, f.azureName, obj.metadata.generation);
    if (step.status === 'running') return this.running(obj, sb, step.operation, step.retryAfterMs);
    if (step.status === 'failed') {
      if (step.error.statusCode === 404) return done('Deleted', `firewall rule ${f.azureName} is gone`);
      return this.azureFailure(sb, step.error, `deleting firewall rule ${f.azureName} failed`);
    }
    await sb.commit();
    return { requeueAfterMs: this.timing.minPollMs };
  }
}
