export * from '../imports/cdk8s-azure.dev';
