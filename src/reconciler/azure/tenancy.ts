/**
 * Which subscription and Azure identity serve each namespace (src/api/scope.ts, the cluster admin's
 * --namespace-scopes), and the ARM clients for them: one client set per (subscription, identity), made on first use
 * and kept; one pacer per subscription (ARM throttles per subscription and principal, and a subscription's pacer must
 * not slow another's); one credential per identity.
 */
import type { TokenCredential } from '@azure/core-auth';
import type { HttpClient } from '@azure/core-rest-pipeline';
import { createArmClients } from './clients';
import { PostgresArm } from './postgres-arm';
import { ArmPacer, type PacingOptions } from './throttle';
import { identityOf, scopeOf, type AzureIdentity, type NamespaceScopes } from '../../api';

export interface TenancyOptions {
  readonly scopes?: NamespaceScopes;
  /** The subscription of a namespace whose scope names none (--subscription-id). */
  readonly subscriptionId: string;
  /** The reconciler's own credential: for a namespace whose scope names no identity. */
  readonly credential: TokenCredential;
  /** The credential of a namespace's own identity (workload identity with its client ID). */
  readonly credentialFor?: (identity: AzureIdentity) => TokenCredential;
  readonly endpoint: string;
  readonly armScope: string;
  readonly onArmResponse?: (method: string, resourceType: string, status: number) => void;
  readonly pacing?: Partial<PacingOptions>;
  /** Tests only: a custom transport. */
  readonly httpClient?: HttpClient;
}

/** What a namespace's resources are reconciled with. */
export interface NamespaceAzure {
  readonly subscriptionId: string;
  readonly credential: TokenCredential;
  /** The client ID of the namespace's own identity; undefined: the reconciler's. */
  readonly clientId?: string;
  readonly arm: PostgresArm;
}

export class AzureTenancy {
  private readonly arms = new Map<string, PostgresArm>();
  private readonly pacers = new Map<string, ArmPacer>();
  private readonly credentials = new Map<string, TokenCredential>();

  constructor(private readonly o: TenancyOptions) {}

  /** The subscription, identity and ARM clients of `namespace` (the defaults when it has no scope). */
  forNamespace(namespace: string): NamespaceAzure {
    const scope = scopeOf(this.o.scopes, namespace);
    const subscriptionId = scope?.subscriptionId ?? this.o.subscriptionId;
    const identity = identityOf(scope);
    const credential = identity ? this.credentialOf(identity) : this.o.credential;
    const key = `${subscriptionId.toLowerCase()}|${identity ? identityKey(identity) : ''}`;
    let arm = this.arms.get(key);
    if (!arm) {
      arm = new PostgresArm(createArmClients({
        subscriptionId,
        endpoint: this.o.endpoint,
        scope: this.o.armScope,
        credential,
        onArmResponse: this.o.onArmResponse,
        pacer: this.pacerOf(subscriptionId),
        httpClient: this.o.httpClient,
      }));
      this.arms.set(key, arm);
    }
    return { subscriptionId, credential, arm, ...(identity ? { clientId: identity.clientId } : {}) };
  }

  /** The pacer of `subscriptionId`, shared by every identity that calls it. */
  pacerOf(subscriptionId: string): ArmPacer {
    const key = subscriptionId.toLowerCase();
    let pacer = this.pacers.get(key);
    if (!pacer) {
      pacer = new ArmPacer(this.o.pacing);
      this.pacers.set(key, pacer);
    }
    return pacer;
  }

  private credentialOf(identity: AzureIdentity): TokenCredential {
    const key = identityKey(identity);
    let credential = this.credentials.get(key);
    if (!credential) {
      if (!this.o.credentialFor) throw new Error(`no way to sign in as client ${identity.clientId}: the reconciler was given no credential factory`);
      credential = this.o.credentialFor(identity);
      this.credentials.set(key, credential);
    }
    return credential;
  }
}

function identityKey(identity: AzureIdentity): string {
  return `${identity.clientId.toLowerCase()}/${(identity.tenantId ?? '').toLowerCase()}`;
}
