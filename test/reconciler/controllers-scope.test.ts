/**
 * Namespace scopes' resource groups (the cluster admin's --namespace-scopes) against the real ARM emulator: a namespace's
 * resources act only in the resource groups it is bound to; out of scope is Ready=False OutOfScope with a Warning
 * Event, and the emulator sees no request for it (nor for its children), also on delete.
 */
/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { armFor, startHarness, type Harness } from './helpers/harness';
import type { AnyObject, Kind, ObjectKey } from '../../src/reconciler/contracts';

let h: Harness;
const SCOPES = { shop: { resourceGroups: ['shop-*', 'shared-rg'] }, billing: { resourceGroups: ['billing-rg'] } };

function serverSpec(azureName: string, resourceGroup: string) {
  return { azureName, resourceGroup: { name: resourceGroup, create: true }, location: 'eastus', writeConnectionSecretToRef: { name: `${azureName}-admin` } };
}
const reason = (kind: Kind, key: ObjectKey) => h.ready(kind, key)?.reason;
/** The ARM requests the emulator saw whose path names `text` (a resource group, a server), ignoring case. */
const requestsNaming = (text: string) => h.emu.admin.requests().log.filter((e) => e.path.toLowerCase().includes(text.toLowerCase()));

async function reconcileAll(namespace: string, rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    for (const kind of ['PostgresServer', 'PostgresDatabase'] as Kind[]) {
      for (const o of h.kube.list<AnyObject>(kind, namespace)) await h.reconcile(kind, o.metadata);
    }
  }
}

before(async () => {
  h = await startHarness({ emulator: { provisioningDelayMs: 300 } });
  h.configure({ namespaceScopes: SCOPES });
});
after(async () => {
  await h?.stop();
});
afterEach(() => {
  h.configure({ namespaceScopes: SCOPES });
});

describe('namespace scopes: resource groups', () => {
  it('an out-of-scope server is OutOfScope with a Warning Event, and neither it nor its database makes an Azure call', async () => {
    h.emu.admin.resetRequests();
    const server = h.kube.create('PostgresServer', 'shop', 'elsewhere', serverSpec('srv-elsewhere', 'billing-rg'));
    const db = h.kube.create('PostgresDatabase', 'shop', 'elsewhere-db', { serverRef: { name: 'elsewhere' }, azureName: 'orders' });
    const result = await h.controllers.PostgresServer.reconcile(server);
    assert.equal(result.failure, 'userError', 'a user error: retried slowly and on change, no retry storm');
    await reconcileAll('shop');

    const ready = h.ready('PostgresServer', server)!;
    assert.equal(ready.status, 'False');
    assert.equal(ready.reason, 'OutOfScope');
    for (const part of [/namespace shop/, /resource group billing-rg/, /may use only shop-\*, shared-rg/, /cluster admin/, /--namespace-scopes/]) {
      assert.match(ready.message, part);
    }
    assert.ok(h.kube.events.some((e) => e.name === 'elsewhere' && e.type === 'Warning' && e.reason === 'OutOfScope'), 'a Warning Event');
    assert.equal(reason('PostgresDatabase', db), 'WaitingForServer', 'the database waits on its server');
    assert.match(h.ready('PostgresDatabase', db)!.message, /OutOfScope/);
    assert.deepEqual(requestsNaming('billing-rg'), [], 'no request for the out-of-scope resource group');
    assert.deepEqual(requestsNaming('srv-elsewhere'), [], 'no request for the server');

    // Deleted: nothing is asked of Azure; the finalizer goes with a Warning Event saying nothing was deleted.
    h.kube.delete('PostgresDatabase', db);
    h.kube.delete('PostgresServer', server);
    await reconcileAll('shop');
    assert.ok(!h.kube.exists('PostgresServer', server), 'the finalizer is removed');
    assert.ok(!h.kube.exists('PostgresDatabase', db));
    const notDeleted = h.kube.events.find((e) => e.name === 'elsewhere' && e.reason === 'NotDeleted');
    assert.equal(notDeleted?.type, 'Warning');
    assert.match(notDeleted!.message, /nothing was deleted in Azure.*outside the scope of namespace shop/);
    assert.deepEqual(requestsNaming('billing-rg'), [], 'no request on delete either');
  });

  it('a namespace not listed may use nothing in Azure', async () => {
    h.emu.admin.resetRequests();
    const server = h.kube.create('PostgresServer', 'unlisted', 'server', serverSpec('srv-unlisted', 'shop-main'));
    await reconcileAll('unlisted', 1);
    assert.equal(reason('PostgresServer', server), 'OutOfScope');
    assert.match(h.ready('PostgresServer', server)!.message, /namespace unlisted has no scope: it may use no subscription or resource group/);
    assert.deepEqual(requestsNaming('srv-unlisted'), []);
  });

  it('in scope (prefix, any case) it is created; narrowed later, the server and its database make no further call and are not deleted', async () => {
    const server = h.kube.create('PostgresServer', 'shop', 'main', serverSpec('srv-shop-main', 'Shop-Main'));
    const db = h.kube.create('PostgresDatabase', 'shop', 'main-db', { serverRef: { name: 'main' }, azureName: 'orders', deletionPolicy: 'Delete' });
    await h.until('PostgresDatabase', db, () => h.ready('PostgresDatabase', db)?.status === 'True' && h.ready('PostgresServer', server)?.status === 'True', 'server and database Ready');
    assert.equal(h.emu.admin.requests().serverCreates['srv-shop-main'], 1);

    h.configure({ namespaceScopes: { shop: { resourceGroups: ['shared-rg'] } } });
    h.emu.admin.resetRequests();
    await reconcileAll('shop', 2);
    assert.equal(reason('PostgresServer', server), 'OutOfScope');
    assert.equal(reason('PostgresDatabase', db), 'OutOfScope', 'a child placed in the server\'s resource group is refused as well');
    assert.match(h.ready('PostgresDatabase', db)!.message, /database orders is not read, created or changed in Azure: resource group Shop-Main is outside/);
    h.kube.delete('PostgresDatabase', db);
    await reconcileAll('shop', 2);
    assert.ok(!h.kube.exists('PostgresDatabase', db), 'the finalizer is removed');
    assert.deepEqual(requestsNaming('shop-main'), [], 'no request for the resource group once out of scope');
    assert.ok(await armFor(h.emu).clients.postgres.databases.get('Shop-Main', 'srv-shop-main', 'orders'), 'the database is still in Azure');
  });
});
