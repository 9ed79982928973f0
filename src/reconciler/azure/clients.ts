/**
 * ARM clients for one subscription: @azure/arm-postgresql-flexible (flexible servers, databases, firewall rules,
 * configurations) and resource groups (two plain calls through the same client's pipeline), on a configurable
 * endpoint, OAuth scope and credential (public cloud, sovereign clouds, the emulator), sharing one pacer, with the
 * SDK's default retry policy replaced by armThrottlePolicy (see throttle.ts).
 */
import { PostgreSQLManagementFlexibleServerClient } from '@azure/arm-postgresql-flexible';
import type { TokenCredential } from '@azure/core-auth';
import { createHttpHeaders, createPipelineRequest, RestError, type HttpClient, type HttpMethods, type Pipeline } from '@azure/core-rest-pipeline';
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
  readonly resourceGroups: ResourceGroups;
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
  const resourceGroups = new ResourceGroups(postgres, endpoint, opts.subscriptionId);
  return { postgres, resourceGroups, pacer, subscriptionId: opts.subscriptionId };
}

export interface ResourceGroup {
  readonly id?: string;
  readonly name?: string;
  readonly location: string;
  readonly tags?: Record<string, string>;
  readonly properties?: { readonly provisioningState?: string };
}

/** The Microsoft.Resources api-version of the calls below (the one @azure/arm-resources 8 sends; the emulator's tests use that SDK). */
const RESOURCE_GROUPS_API_VERSION = '2025-04-01';

/**
 * Resource groups, through the PostgreSQL client's pipeline: the same credential, pacer and throttle policy, without
 * a second SDK for two calls. Errors are the SDK's RestError with Azure's code and message, as the SDK's own.
 */
export class ResourceGroups {
  constructor(
    private readonly client: Pick<PostgreSQLManagementFlexibleServerClient, 'sendRequest'>,
    private readonly endpoint: string,
    private readonly subscriptionId: string,
  ) {}

  get(name: string): Promise<ResourceGroup> {
    return this.send('GET', name);
  }

  createOrUpdate(name: string, group: { location: string; tags?: Record<string, string> }): Promise<ResourceGroup> {
    return this.send('PUT', name, group);
  }

  private async send(method: HttpMethods, name: string, body?: object): Promise<ResourceGroup> {
    const path = `/subscriptions/${encodeURIComponent(this.subscriptionId)}/resourcegroups/${encodeURIComponent(name)}`;
    const request = createPipelineRequest({
      url: `${this.endpoint}${path}?api-version=${RESOURCE_GROUPS_API_VERSION}`,
      method,
      headers: createHttpHeaders({ accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) }),
      body: body ? JSON.stringify(body) : undefined,
    });
    const response = await this.client.sendRequest(request);
    let parsed: any;
    try {
      parsed = response.bodyAsText ? JSON.parse(response.bodyAsText) : undefined;
    } catch {
      parsed = undefined;
    }
    if (response.status === 200 || response.status === 201) return parsed as ResourceGroup;
    const error = (parsed?.error ?? {}) as { code?: string; message?: string };
    throw new RestError(error.message ?? `${method} ${path}: HTTP ${response.status}`, {
      code: error.code,
      statusCode: response.status,
      request,
      response,
    });
  }
}
