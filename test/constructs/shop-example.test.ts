import { Testing } from 'cdk8s';
import { crdValidators, findAll, loadCrds, schemaErrors, secretContractKeys } from './support';
import { SHOP_NAMESPACE, ShopChart } from '../../examples/shop/chart';

const OUR_GROUP_PREFIX = `${loadCrds()[0].group}/`;

function synthShop(): any[] {
  const app = Testing.app();
  const chart = new ShopChart(app, 'shop');
  return Testing.synth(chart);
}

/** The Pod templates of the manifests, with the namespace their Pods run in. */
function podTemplates(manifests: any[]): Array<{ owner: string; namespace: string | undefined; spec: any }> {
  return manifests
    .filter(m => m.spec?.template?.spec)
    .map(m => ({ owner: `${m.kind} ${m.metadata.name}`, namespace: m.metadata.namespace, spec: m.spec.template.spec }));
}

describe('examples/shop', () => {
  test('synthesizes the same YAML as the committed snapshot', () => {
    expect(synthShop()).toMatchSnapshot();
  });

  test('has one server, two databases, a role each, a firewall rule and two web apps, all in the shop namespace', () => {
    const manifests = synthShop();
    const count = (kind: string) => manifests.filter(m => m.kind === kind).length;
    expect(count('PostgresServer')).toBe(1);
    expect(manifests.filter(m => m.kind === 'PostgresDatabase').map(m => m.spec.azureName).sort()).toEqual(['catalog', 'orders']);
    expect(count('PostgresRole')).toBe(2);
    expect(count('PostgresFirewallRule')).toBe(1);
    expect(count('Deployment')).toBe(2);
    expect(count('Service')).toBe(2);
    const namespaced = manifests.filter(m => m.kind !== 'Namespace');
    expect(namespaced.map(m => m.metadata.namespace)).toEqual(namespaced.map(() => SHOP_NAMESPACE));
  });

  test('every secretKeyRef reads a Secret a CR writes, in the Pod\'s namespace, with a key of the Secret contract', () => {
    const manifests = synthShop();
    const contract = secretContractKeys();
    expect(contract).toEqual(['host', 'port', 'dbname', 'username', 'password', 'uri', 'jdbc-uri', 'pgpass', 'sslmode', 'ca.crt']);
    const written = new Set(manifests
      .filter(m => m.apiVersion.startsWith(OUR_GROUP_PREFIX) && m.spec.writeConnectionSecretToRef)
      .map(m => `${m.metadata.namespace}/${m.spec.writeConnectionSecretToRef.name}`));

    const refs = podTemplates(manifests).flatMap(t => findAll(t.spec, 'secretKeyRef').map(ref => ({ ...t, ref })));
    expect(refs.length).toBeGreaterThanOrEqual(14); // 7 variables in each of the two apps
    for (const { owner, namespace, ref } of refs) {
      expect({ owner, secret: `${namespace}/${ref.name}`, written: written.has(`${namespace}/${ref.name}`) })
        .toEqual({ owner, secret: `${namespace}/${ref.name}`, written: true });
      expect({ owner, key: ref.key, inContract: contract.includes(ref.key) }).toEqual({ owner, key: ref.key, inContract: true });
    }
  });

  test('each web app reads the Secret of its own role, and the two roles are on their own databases', () => {
    const manifests = synthShop();
    const roles = manifests.filter(m => m.kind === 'PostgresRole');
    const databases = manifests.filter(m => m.kind === 'PostgresDatabase');
    const secretOfDatabase = new Map(roles.map(r => [
      databases.find(d => d.metadata.name === r.spec.databaseRef.name)!.spec.azureName,
      r.spec.writeConnectionSecretToRef.name,
    ]));
    const deployments = manifests.filter(m => m.kind === 'Deployment');
    const secretsReadBy = (nameFragment: string) => new Set(findAll(
      deployments.find(d => d.metadata.name.includes(nameFragment)), 'secretKeyRef').map((r: any) => r.name));
    expect([...secretsReadBy('catalog-api')]).toEqual([secretOfDatabase.get('catalog')]);
    expect([...secretsReadBy('orders-api')]).toEqual([secretOfDatabase.get('orders')]);
  });

  test('every CR validates against the openAPIV3Schema of its CRD', () => {
    const validators = crdValidators();
    const crs = synthShop().filter(m => m.apiVersion.startsWith(OUR_GROUP_PREFIX));
    expect(crs.length).toBe(6);
    for (const cr of crs) {
      expect({ cr: `${cr.kind} ${cr.metadata.name}`, errors: schemaErrors(validators, cr) }).toEqual({ cr: `${cr.kind} ${cr.metadata.name}`, errors: [] });
    }
  });
});
