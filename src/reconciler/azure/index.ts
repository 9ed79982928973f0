/** The ARM module: clients, pacing/throttling, long-running operations, errors, server mapping. No kube/ or postgres/ here. */
export * from './clients';
export * from './errors';
export * from './lro';
export * from './postgres-arm';
export * from './resource';
export * from './resource-id';
export * from './server-mapping';
export * from './throttle';
