import { Construct } from 'constructs';
import { isKind } from './kinds';
import { DeletionPolicy } from './postgres-options';
import { AzurePostgresChild, AzurePostgresChildOptions, AzurePostgresChildProps } from './server-child';
import { checkString, FIREWALL_RULE_NAME, IPV4, ipv4ToNumber } from './validation';
import { PostgresFirewallRule, PostgresFirewallRuleSpecDeletionPolicy } from '../imports/cdk8s-azure.dev';

/** Options of a firewall rule, for `AzurePostgres.addFirewallRule`. */
export interface AzurePostgresFirewallRuleOptions extends AzurePostgresChildOptions {
  /** First IPv4 address of the allowed range, for example 203.0.113.0. */
  readonly startIpAddress: string;

  /** Last IPv4 address of the allowed range (not below startIpAddress), for example 203.0.113.255. */
  readonly endIpAddress: string;
}

/** Properties of an `AzurePostgresFirewallRule`. */
export interface AzurePostgresFirewallRuleProps extends AzurePostgresFirewallRuleOptions, AzurePostgresChildProps {
  /** Name of the rule in Azure: 1-128 letters, digits, hyphens and underscores. Cannot be changed after creation. */
  readonly ruleName: string;
}

/**
 * A range of IPv4 addresses allowed to reach a server with public access (a PostgresFirewallRule resource). The
 * server must have public access.
 *
 * Usually made with `AzurePostgres.addFirewallRule`.
 */
export class AzurePostgresFirewallRule extends AzurePostgresChild {
  /** Whether `x` is an AzurePostgresFirewallRule (also across copies of this library). */
  public static isAzurePostgresFirewallRule(x: any): x is AzurePostgresFirewallRule {
    return isKind(x, 'AzurePostgresFirewallRule');
  }

  /** Name of the rule in Azure. */
  public readonly ruleName: string;
  /** First address of the range. */
  public readonly startIpAddress: string;
  /** Last address of the range. */
  public readonly endIpAddress: string;
  /** The PostgresFirewallRule object. */
  public readonly apiObject: PostgresFirewallRule;

  public constructor(scope: Construct, id: string, props: AzurePostgresFirewallRuleProps) {
    super(scope, id, 'AzurePostgresFirewallRule', props);
    this.ruleName = props.ruleName;
    this.startIpAddress = props.startIpAddress;
    this.endIpAddress = props.endIpAddress;

    const problems = this._propertyProblems(props);
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
    problems.throwIfAny();

    this.apiObject = new PostgresFirewallRule(this, 'Resource', {
      metadata: this._metadata(props),
      spec: {
        serverRef: { name: props.server.name },
        azureName: props.ruleName,
        startIpAddress: props.startIpAddress,
        endIpAddress: props.endIpAddress,
        deletionPolicy: (props.deletionPolicy ?? DeletionPolicy.DELETE) as string as PostgresFirewallRuleSpecDeletionPolicy,
      },
    });
    this._setResource(this.apiObject, props);
  }
}
