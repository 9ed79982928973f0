/**
 * Internal (not exported from index.ts): the brand each construct of this library carries, so that `isAzurePostgres`
 * and the like work across copies of the library loaded twice (a symbol from Symbol.for, not instanceof).
 */
import { IConstruct } from 'constructs';

/** The construct classes that carry a brand; the name is also what messages call the construct. */
export type ConstructKind = 'AzurePostgres' | 'AzurePostgresDatabase' | 'AzurePostgresFirewallRule' | 'AzurePostgresRole';

function brandOf(kind: ConstructKind): symbol {
  return Symbol.for(`cdk8s-azure.dev/${kind}`);
}

/** Marks `construct` as a `kind`. */
export function brand(construct: IConstruct, kind: ConstructKind): void {
  Object.defineProperty(construct, brandOf(kind), { value: true });
}

/** Whether `x` carries the brand of `kind`. */
export function isKind(x: unknown, kind: ConstructKind): boolean {
  return x !== null && typeof x === 'object' && brandOf(kind) in x;
}
