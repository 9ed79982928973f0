/**
 * The classes generated from crds/ (`crd.PostgresServer`, `crd.PostgresDatabase`, ...): the raw custom resources,
 * with none of the constructs' checks or defaults. Use the constructs (AzurePostgres and its children) unless you need
 * a field they do not offer.
 */
export * as crd from '../imports/cdk8s-azure.dev';

export * from './postgres-options';
export * from './connection-secret';
export * from './azure-postgres';
export * from './server-child';
export * from './postgres-database';
export * from './postgres-firewall-rule';
export * from './postgres-role';
export * from './web-app-with-db';
export * from './reconciler-install';
