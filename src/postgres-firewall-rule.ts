import { ApiObjectMetadata } from 'cdk8s';
import { Construct } from 'constructs';
import type { AzurePostgres } from './azure-postgres';
import { DeletionPolicy } from './postgres-options';
import {
  checkOneOf,
  checkString,
  enumValues,
  FIREWALL_RULE_NAME,
  IPV4,
  ipv4ToNumber,
  Problems,
  requireServerNamespace,
  requireValidObjectName,
} from './validation';
import { PostgresFirewallRule, PostgresFirewallRuleSpecDeletionPolicy } from '../imports/cdk8s-azure.dev';

const IS_FIREWALL_RULE = Symbol.for('cdk8s-azure.dev/AzurePostgresFirewallRule');

/** Options of a firewall rule, for `AzurePostgres.addFirewallRule`. */
export interface AzurePostgresFirewallRuleOptions {
  /** First IPv4 address of the allowed range, for example 203.0.113.0. */
  readonly startIpAddress: string;

  /** Last IPv4 address of the allowed range (not below startIpAddress), for example 203.0.113.255. */
  readonly endIpAddress: string;

  /**
   * What happens to the rule in Azure when the PostgresFirewallRule is deleted.
   *
   * @default DeletionPolicy.DELETE
   */
  readonly deletionPolicy?: DeletionPolicy;

  /**
   * Metadata of the PostgresFirewallRule object. Its namespace, when set, must be the server's.
   *
   * @default - a name generated from the construct path, in the server's namespace
   */
  readonly metadata?: ApiObjectMetadata;
}

/** Properties of an `AzurePostgresFirewallRule`. */
export interface AzurePostgresFirewallRuleProps extends AzurePostgresFirewallRuleOptions {
  /** The server the rule admits clients to. It must have public access. */
  readonly server: AzurePostgres;

  /** Name of the rule in Azure: 1-128 letters, digits, hyphens and underscores. Cannot be changed after creation. */
  readonly ruleName: string;
}

/**
 * A range of IPv4 addresses allowed to reach a server with public access (a PostgresFirewallRule resource).
 *
 * Usually made with `AzurePostgres.addFirewallRule`.
 */
export class AzurePostgresFirewallRule extends Construct {
  /** Whether `x` is an AzurePostgresFirewallRule (also across copies of this library). */
  public static isAzurePostgresFirewallRule(x: any): x is AzurePostgresFirewallRule {
    return x !== null && typeof x === 'object' && IS_FIREWALL_RULE in x;
  }

  /** The server the rule admits clients to. */
  public readonly server: AzurePostgres;
  /** Name of the rule in Azure. */
  public readonly ruleName: string;
  /** First address of the range. */
  public readonly startIpAddress: string;
  /** Last address of the range. */
  public readonly endIpAddress: string;
  /** The PostgresFirewallRule object. */
  public readonly apiObject: PostgresFirewallRule;

  public constructor(scope: Construct, id: string, props: AzurePostgresFirewallRuleProps) {
    super(scope, id);
    Object.defineProperty(this, IS_FIREWALL_RULE, { value: true });
    this.server = props.server;
    this.ruleName = props.ruleName;
    this.startIpAddress = props.startIpAddress;
    this.endIpAddress = props.endIpAddress;

    const problems = new Problems(this, 'AzurePostgresFirewallRule properties');
    checkString(problems, 'ruleName', props.ruleName, FIREWALL_RULE_NAME);
    const startOk = checkString(problems, 'startIpAddress', props.startIpAddress, IPV4);
    const endOk = checkString(problems, 'endIpAddress', props.endIpAddress, IPV4);
    if (startOk && endOk && ipv4ToNumber(props.startIpAddress) > ipv4ToNumber(props.endIpAddress)) {
      problems.add('endIpAddress', props.endIpAddress, `must not be below startIpAddress ${props.startIpAddress}; swap them`);
    }
    if (!props.server.publicNetworkAccess) {
      problems.add('server', props.server.node.path,
        'has no public access (network.publicNetworkAccess is false or it uses a delegated subnet), so firewall rules do not apply; '
        + 'clients reach it through its virtual network instead: remove the rule');
    }
    if (props.deletionPolicy !== undefined) {
      checkOneOf(problems, 'deletionPolicy', props.deletionPolicy, enumValues(DeletionPolicy));
    }
    if (props.metadata?.namespace !== undefined && props.metadata.namespace !== props.server.namespace) {
      problems.add('metadata.namespace', props.metadata.namespace,
        `must be the namespace of its server at '${props.server.node.path}' because serverRef is namespace-local; leave it unset`);
    }
    problems.throwIfAny();

    this.apiObject = new PostgresFirewallRule(this, 'Resource', {
      metadata: { ...props.metadata, namespace: props.server.namespace },
      spec: {
        serverRef: { name: props.server.name },
        azureName: props.ruleName,
        startIpAddress: props.startIpAddress,
        endIpAddress: props.endIpAddress,
        deletionPolicy: (props.deletionPolicy ?? DeletionPolicy.DELETE) as string as PostgresFirewallRuleSpecDeletionPolicy,
      },
    });
    requireValidObjectName(this, 'AzurePostgresFirewallRule properties', this.apiObject.name, props.metadata?.name !== undefined);
    requireServerNamespace(this, this.namespace, props.server, props.server.namespace);
  }

  /** Name of the PostgresFirewallRule object. */
  public get name(): string {
    return this.apiObject.name;
  }

  /** Namespace of the PostgresFirewallRule object (the server's). */
  public get namespace(): string | undefined {
    return this.apiObject.metadata.namespace;
  }
}
