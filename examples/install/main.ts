import { App, Chart } from 'cdk8s';
import { Reconciler } from 'cdk8s-azure';

/** Reads a setting from the environment; the install cannot guess an Azure subscription. */
function setting(name: string, required: boolean): string | undefined {
  const value = process.env[name];
  if (required && !value) {
    throw new Error(`set ${name} (for example: ${name}=00000000-0000-0000-0000-000000000000 npx cdk8s synth)`);
  }
  return value || undefined;
}

const app = new App();
const chart = new Chart(app, 'cdk8s-azure');
new Reconciler(chart, 'reconciler', {
  subscriptionId: setting('AZURE_SUBSCRIPTION_ID', true)!,
  // The client ID of the managed identity the reconciler signs in as through AKS workload identity.
  clientId: setting('AZURE_CLIENT_ID', false),
  // Two replicas: leader election keeps one active, the other takes over at once.
  replicas: 2,
  // A namespaced install when set (e.g. WATCH_NAMESPACES=shop,billing): rights in those namespaces only, no
  // ClusterRole. Unset: all namespaces.
  watchNamespaces: setting('WATCH_NAMESPACES', false)?.split(','),
});
app.synth();
