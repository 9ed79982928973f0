import { Chart, ChartProps } from 'cdk8s';
import { k8s, Probe } from 'cdk8s-plus-34';
import * as kplus from 'cdk8s-plus-34';
import { AzurePostgres, RolePrivilege, WebAppWithDb } from 'cdk8s-azure';
import { Construct } from 'constructs';

/** The shop's namespace: the server, its databases and roles, their Secrets and the apps all live in it. */
export const SHOP_NAMESPACE = 'shop';

/**
 * The "shop": one PostgreSQL server with a database per service (catalog, orders), a least-privilege role per
 * service, and the two services, each wired to its own role's connection Secret.
 */
export class ShopChart extends Chart {
  public constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, props);

    new k8s.KubeNamespace(this, 'namespace', { metadata: { name: SHOP_NAMESPACE } });

    const db = new AzurePostgres(this, 'db', {
      metadata: { namespace: SHOP_NAMESPACE },
      resourceGroup: { name: 'shop-rg', create: true },
      location: 'westeurope',
      backup: { retentionDays: 14 },
      parameters: { log_min_duration_statement: '500' },
      tags: { app: 'shop' },
    });
    // The AKS cluster's outbound (egress) address; without a rule no client can reach a public server.
    db.addFirewallRule('aks-egress', { startIpAddress: '198.51.100.10', endIpAddress: '198.51.100.10' });

    const catalog = db.addDatabase('catalog');
    const orders = db.addDatabase('orders');
    // The catalog service reads and writes its own tables only; orders owns its schema (ALL).
    const catalogRole = db.addRole('catalog_app', {
      database: catalog,
      privileges: [RolePrivilege.SELECT, RolePrivilege.INSERT, RolePrivilege.UPDATE, RolePrivilege.DELETE],
    });
    const ordersRole = db.addRole('orders_app', { database: orders, connectionLimit: 20 });

    new WebAppWithDb(this, 'catalog-api', {
      image: 'ghcr.io/cdk8s-azure/example-catalog-api:1.0.0',
      role: catalogRole,
      liveness: Probe.fromHttpGet('/healthz', { port: 8080 }),
      readiness: Probe.fromHttpGet('/readyz', { port: 8080 }),
      env: { LOG_LEVEL: kplus.EnvValue.fromValue('info') },
    });
    new WebAppWithDb(this, 'orders-api', {
      image: 'ghcr.io/cdk8s-azure/example-orders-api:1.0.0',
      role: ordersRole,
      replicas: 3,
      liveness: Probe.fromHttpGet('/healthz', { port: 8080 }),
      // This service's database library reads DATABASE_URL only; the PG* variables are there too.
      env: { LOG_LEVEL: kplus.EnvValue.fromValue('info') },
    });
  }
}
