// The typed classes generated from crds/ (PostgresServer, PostgresDatabase, ...), for users who want the raw CRs.
export * from '../imports/cdk8s-azure.dev';

export * from './postgres-options';
export * from './connection-secret';
export * from './azure-postgres';
export * from './server-child';
export * from './postgres-database';
export * from './postgres-firewall-rule';
export * from './postgres-role';
export * from './web-app-with-db';
export * from './reconciler-install';
