// README's example, as a user writes it, plus the reconciler's install: compiled against the installed package.
import { App, Chart } from 'cdk8s';
import { AzurePostgres, Reconciler, WebAppWithDb } from 'cdk8s-azure';

const app = new App();
const chart = new Chart(app, 'shop', { namespace: 'shop' });

const db = new AzurePostgres(chart, 'db', {
  metadata: { namespace: 'shop' },
  resourceGroup: { name: 'shop-rg', create: true },
  location: 'westeurope',
});
db.addFirewallRule('aks-egress', { startIpAddress: '198.51.100.10', endIpAddress: '198.51.100.10' });
const orders = db.addDatabase('orders');
const ordersRole = db.addRole('orders_app', { database: orders });

new WebAppWithDb(chart, 'orders-api', { image: 'example/orders-api:1.0.0', role: ordersRole });

const install = new Chart(app, 'install');
new Reconciler(install, 'reconciler', { subscriptionId: '00000000-0000-0000-0000-000000000000' });
app.synth();
