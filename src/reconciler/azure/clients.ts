/**
 * ARM clients for one subscription: @azure/arm-postgresql-flexible (flexible servers, databases, firewall rules,
 * configurations) and @azure/arm-resources (resource groups), on a configurable endpoint, OAuth scope and credential
 * (public cloud, sovereign clouds, the emulator), sharing one pacer, with the SDK's default retry policy replaced by
 * armThrottlePolicy (see throttle.ts).
 */
import { PostgreSQLManagementFlexibleServerClient } from '@azure/arm-postgresql-flexible';
import { ResourceManagementClient } from '@azure/arm-resources';
import type { TokenCredential } from '@azure/core-auth';
import type { HttpClient, Pipeline } from '@azure/core-rest-pipeline';
import { ArmPacer, armThrottlePolicy, type PacingOptions } from './throttle';

export interface ArmClientOptions {
  readonly subscriptionId: string;
  /** e.g. https://management.azure.com, https://management.usgovcloudapi.net, the emulator's URL. */
  readonly endpoint: string;
  /** e.g. https://management.azure.com/.default */
  readonly scope: string;
  readonly credential: TokenCredential;
  readonly onArmResponse?: (method: string, resourceType: string, status: number) => void;
  readonly pacing?: Partial<PacingOptions>;
  /** Share a pacer between client sets of the same subscription. */
  readonly pacer?: ArmPacer;
  /** Tests only: a custom transport. */
  readonly httpClient?: HttpClient;
}

export interface ArmClients {
  readonly postgres: PostgreSQLManagementFlexibleServerClient;
  readonly resources: ResourceManagementClient;
  readonly pacer: ArmPacer;
  readonly subscriptionId: string;
}

const DEFAULT_RETRY_POLICY = 'defaultRetryPolicy';

function installThrottle(pipeline: Pipeline, pacer: ArmPacer, onArmResponse: ArmClientOptions['onArmResponse']): void {
  pipeline.removePolicy({ name: DEFAULT_RETRY_POLICY });
  pipeline.addPolicy(armThrottlePolicy({ pacer, onResponse: onArmResponse }), { phase: 'Retry' });
}

export function createArmClients(opts: ArmClientOptions): ArmClients {
  const endpoint = opts.endpoint.replace(/\/+$/, '');
  const pacer = opts.pacer ?? new ArmPacer(opts.pacing);
  const postgres = new PostgreSQLManagementFlexibleServerClient(opts.credential, opts.subscriptionId, {
    endpoint,
    $host: endpoint,
    credentialScopes: [opts.scope],
    httpClient: opts.httpClient,
    retryOptions: { maxRetries: 0 },
  });
  installThrottle(postgres.pipeline, pacer, opts.onArmResponse);
  const resources = new ResourceManagementClient(opts.credential, opts.subscriptionId, {
    endpoint,
    credentials: { scopes: [opts.scope] },
    httpClient: opts.httpClient,
    retryOptions: { maxRetries: 0 },
  });
  installThrottle(resources.pipeline, pacer, opts.onArmResponse);
  return { postgres, resources, pacer, subscriptionId: opts.subscriptionId };
}
