/**
 * The reconciler's own Microsoft Entra identity, read from the claims of its ARM access token (oid: the service
 * principal's object ID; tid: its tenant), and Entra tokens used as PostgreSQL passwords. Tokens are never logged or
 * stored: only their claims oid and tid are kept.
 */
import type { TokenCredential } from '@azure/core-auth';

export interface EntraIdentity {
  readonly objectId: string;
  readonly tenantId: string;
}

const identities = new WeakMap<TokenCredential, Promise<EntraIdentity>>();

/** The oid and tid claims of a JWT access token, or undefined when it has none. */
export function identityFromToken(token: string): EntraIdentity | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { oid?: unknown; tid?: unknown };
    return typeof claims.oid === 'string' && typeof claims.tid === 'string' ? { objectId: claims.oid, tenantId: claims.tid } : undefined;
  } catch {
    return undefined;
  }
}

/** Who the credential signs in as, asked once per credential (a failure is not remembered). */
export function reconcilerIdentity(credential: TokenCredential, armScope: string): Promise<EntraIdentity> {
  let identity = identities.get(credential);
  if (identity === undefined) {
    identity = credential.getToken(armScope).then((token) => {
      const found = token ? identityFromToken(token.token) : undefined;
      if (!found) throw new Error(`the access token for ${armScope} has no oid and tid claims: the reconciler cannot tell its own Entra identity`);
      return found;
    });
    identity.catch(() => identities.delete(credential));
    identities.set(credential, identity);
  }
  return identity;
}

/** A PostgreSQL password function: a fresh (or cached, unexpired) Entra token for `scope` at each connection. */
export function entraTokenPassword(credential: TokenCredential, scope: string): () => Promise<string> {
  return async () => {
    const token = await credential.getToken(scope);
    if (!token) throw new Error(`no Microsoft Entra token for ${scope}`);
    return token.token;
  };
}
