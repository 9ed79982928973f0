/**
 * PostgresFirewallRule: an IPv4 range allowed to reach a PostgresServer with public access.
 */
import { ArmChildController, type ChildLocation, type WriteType } from './arm-child';
import type { Timing } from './common';
import type { ServerRef } from './parents';
import type { FirewallRule, PostgresArm } from '../azure/postgres-arm';
import { keyString, type ControllerEnvironment, type OperationStatus, type PostgresFirewallRuleObject } from '../contracts';

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

type Spec = ReturnType<typeof normalizeFirewallSpec>;

export class PostgresFirewallRuleController extends ArmChildController<PostgresFirewallRuleObject, Spec, FirewallRule> {
  declare readonly kind: 'PostgresFirewallRule';
  protected readonly noun = 'firewall rule';
  protected readonly written = 'written';

  constructor(env: ControllerEnvironment, arm: PostgresArm, timing: Timing) {
    super(env, arm, timing, 'PostgresFirewallRule');
  }

  protected normalize(obj: PostgresFirewallRuleObject): Spec {
    return normalizeFirewallSpec(obj.spec);
  }

  protected validate(f: Spec): string[] {
    return validateFirewallSpec(f);
  }

  protected serverProblem(server: ServerRef, f: Spec): string | undefined {
    if (!server.spec.network.delegatedSubnetResourceId) return undefined;
    return `PostgresServer ${f.serverName} uses private access (a delegated subnet); firewall rules apply only to servers with public access`;
  }

  protected getResource({ rg, srv }: ChildLocation, f: Spec) {
    return this.arm.getFirewallRule(rg, srv, f.azureName);
  }

  protected resume({ rg, srv }: ChildLocation, f: Spec, op: OperationStatus) {
    return this.arm.resumeFirewallRuleOperation(rg, srv, f.azureName, op);
  }

  protected needsWrite(rule: FirewallRule | undefined, f: Spec): WriteType | undefined {
    if (!rule) return 'Create';
    return rule.startIpAddress !== f.startIpAddress || rule.endIpAddress !== f.endIpAddress ? 'Update' : undefined;
  }

  protected startWrite({ rg, srv }: ChildLocation, f: Spec, type: WriteType, obj: PostgresFirewallRuleObject) {
    this.log.info({ key: keyString(obj.metadata), rule: f.azureName, type }, 'writing firewall rule');
    const body = { startIpAddress: f.startIpAddress, endIpAddress: f.endIpAddress };
    return this.arm.startPutFirewallRule(rg, srv, f.azureName, body, type, obj.metadata.generation);
  }

  protected startDelete({ rg, srv }: ChildLocation, f: Spec, obj: PostgresFirewallRuleObject) {
    return this.arm.startDeleteFirewallRule(rg, srv, f.azureName, obj.metadata.generation);
  }

  protected writeVerb(type: OperationStatus['type']): string {
    return type === 'Create' ? 'creating' : 'updating';
  }

  protected availableMessage(f: Spec, { srv }: ChildLocation): string {
    return `Firewall rule ${f.azureName} admits ${f.startIpAddress}-${f.endIpAddress} to server ${srv}`;
  }
}
