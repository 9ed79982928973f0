/**
 * The API of every kind in one place: types, defaults and rules. The constructs use it at synth, the reconciler at
 * reconcile, and crds/ agrees with it (test/constructs/api-crd-agreement.test.ts). Pure TypeScript: no cdk8s, no
 * constructs, so that esbuild bundles it into the reconciler as is.
 */
export * from './problem';
export * from './rules';
export * from './reserved';
export * from './tags';
export * from './storage';
export * from './version';
export * from './sku';
export * from './parameters';
export * from './children';
export * from './authentication';
export * from './server-source';
export * from './server';
export * from './extensions';
export * from './database';
export * from './firewall-rule';
export * from './role';
export * from './scope';
export * from './log-level';
export * from './install';
