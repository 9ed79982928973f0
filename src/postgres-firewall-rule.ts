import { Construct } from 'constructs';
import { normalizeFirewallRuleSpec, validateFirewallRuleSpec } from './api';
import { isKind } from './kinds';
import { AzurePostgresChild, AzurePostgresChildOptions, AzurePostgresChildProps } from './server-child';
import { PostgresFirewallRule, PostgresFirewallRuleSpec, PostgresFirewallRuleSpecDeletionPolicy } from '../imports/cdk8s-azure.dev';

/** Options of a firewall rule, for `AzurePostgres.addFirewallRule`. */
export interface AzurePostgresFirewallRuleOptions extends AzurePostgresChildOptions {
  /** First IPv4 address of the allowed range, for example 203.0.113.0. */
  readonly startIpAddress: string;

  /** Last IPv4 address of the allowed range (not below startIpAddress), for example 203.0.113.255. */
  readonly endIpAddress: string;
}

/** Properties of an `AzurePostgresFirewallRule`. */
export interface AzurePostgresFirewallRuleProps extends AzurePostgresFirewallRuleOptions, AzurePostgresChildProps {
  /**
   * Name of the rule in Azure: 1-80 letters, digits, hyphens and underscores, starting with a letter or digit and not
   * ending with a hyphen. Cannot be changed after creation.
   */
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
    // src/api applies the rules of a PostgresFirewallRule (name, addresses, range).
    const spec = normalizeFirewallRuleSpec({
      serverRef: { name: props.server.name },
      azureName: props.ruleName,
      startIpAddress: props.startIpAddress,
      endIpAddress: props.endIpAddress,
      deletionPolicy: props.deletionPolicy,
    } as PostgresFirewallRuleSpec);
    problems.addSpecProblems(validateFirewallRuleSpec(spec), { azureName: 'ruleName' });
    if (!props.server.publicNetworkAccess) {
      problems.add('server', props.server.node.path,
        'has no public access (network.publicNetworkAccess is false or it uses a delegated subnet), so firewall rules do not apply; '
        + 'clients reach it through its virtual network instead: remove the rule');
    }
    problems.throwIfAny();

    this.apiObject = new PostgresFirewallRule(this, 'Resource', {
      metadata: this._metadata(props),
      spec: {
        serverRef: { name: spec.serverName },
        azureName: spec.azureName,
        startIpAddress: spec.startIpAddress,
        endIpAddress: spec.endIpAddress,
        deletionPolicy: spec.deletionPolicy as PostgresFirewallRuleSpecDeletionPolicy | undefined,
      },
    });
    this._setResource(this.apiObject, props);
  }
}
