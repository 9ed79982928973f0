/**
 * The comparisons on the informer's hot path: jsonEqual (JSON semantics without rendering JSON), the runtime's
 * onlyStatusChanged predicate (what an update must change to be reconciled again) and StatusMemory's view (the status
 * this process wrote, until the cache shows it).
 */
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AnyObject } from '../../src/reconciler/contracts';
import { StatusMemory } from '../../src/reconciler/controllers/lifecycle/status-memory';
import { jsonEqual } from '../../src/reconciler/kube/json-equal';
import { onlyStatusChanged } from '../../src/reconciler/runtime/controller';

function rule(patch: { spec?: object; status?: object; metadata?: object } = {}): AnyObject {
  return {
    apiVersion: 'cdk8s-azure.dev/v1alpha1',
    kind: 'PostgresFirewallRule',
    metadata: { name: 'r', namespace: 'ns', uid: 'u1', resourceVersion: '1', generation: 1, finalizers: ['f'], ...patch.metadata },
    spec: { serverRef: { name: 's' }, startIpAddress: '10.0.0.1', endIpAddress: '10.0.0.2', ...patch.spec },
    status: { conditions: [{ type: 'Ready', status: 'False', reason: 'Creating', message: 'm', lastTransitionTime: 't1' }], ...patch.status },
  } as AnyObject;
}

describe('jsonEqual', () => {
  it('is equality of the JSON: key order aside, undefined properties absent, Dates by their ISO form', () => {
    assert.ok(jsonEqual({ a: 1, b: { c: [1, { d: 'x' }] } }, { b: { c: [1, { d: 'x' }] }, a: 1 }));
    assert.ok(jsonEqual({ a: 1, gone: undefined }, { a: 1 }));
    assert.ok(!jsonEqual({ a: 1 }, { a: 1, b: null }));
    assert.ok(!jsonEqual({ a: [1, 2] }, { a: [2, 1] }));
    assert.ok(!jsonEqual({ a: { b: 1 } }, { a: { b: '1' } }));
    assert.ok(!jsonEqual({ a: [] }, { a: {} }));
    assert.ok(jsonEqual({ t: new Date(5) }, { t: new Date(5) }));
    assert.ok(!jsonEqual({ t: new Date(5) }, { t: new Date(6) }));
  });

  it('skips the keys the caller ignores, wherever they are, and only those', () => {
    const ignoreTime = (k: string) => k === 'lastTransitionTime';
    assert.ok(jsonEqual({ c: [{ s: 'True', lastTransitionTime: 'a' }] }, { c: [{ lastTransitionTime: 'b', s: 'True' }] }, ignoreTime));
    assert.ok(jsonEqual({ c: [{ s: 'True', lastTransitionTime: 'a' }] }, { c: [{ s: 'True' }] }, ignoreTime));
    assert.ok(!jsonEqual({ c: [{ s: 'True', lastTransitionTime: 'a' }] }, { c: [{ s: 'False', lastTransitionTime: 'a' }] }, ignoreTime));
  });
});

describe('onlyStatusChanged', () => {
  it('holds for the reconciler\'s own status writes: a new status and resourceVersion, managedFields', () => {
    const updated = rule({ status: { conditions: [], azureResourceId: '/x' }, metadata: { resourceVersion: '2', managedFields: [{ manager: 'm' }] } });
    assert.ok(onlyStatusChanged(rule(), updated));
  });

  it('does not hold when the spec, labels, annotations, finalizers or deletionTimestamp change', () => {
    assert.ok(!onlyStatusChanged(rule(), rule({ spec: { endIpAddress: '10.0.0.3' } })));
    assert.ok(!onlyStatusChanged(rule(), rule({ metadata: { labels: { a: 'b' } } })));
    assert.ok(!onlyStatusChanged(rule(), rule({ metadata: { annotations: { a: 'b' } } })));
    assert.ok(!onlyStatusChanged(rule(), rule({ metadata: { finalizers: [] } })));
    assert.ok(!onlyStatusChanged(rule(), rule({ metadata: { deletionTimestamp: '2026-11-29T00:00:00Z' } })));
    assert.ok(!onlyStatusChanged(rule(), rule({ metadata: { generation: 2 } })));
  });

  it('ignores resourceVersion only in metadata: the same name elsewhere is content', () => {
    assert.ok(!onlyStatusChanged(rule({ spec: { resourceVersion: 'a' } }), rule({ spec: { resourceVersion: 'b' } })));
  });
});

describe('StatusMemory', () => {
  it('shows the status it recorded until the cache shows the same (transition times and key order aside), then the cache', () => {
    const memory = new StatusMemory();
    const written = { conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: 'ok', lastTransitionTime: 't2' }], azureResourceId: '/x' };
    memory.record(rule(), written);
    const behind = rule();
    assert.deepEqual(memory.view(behind).status, written);
    const caughtUp = rule({ status: { azureResourceId: '/x', conditions: [{ message: 'ok', reason: 'Ready', status: 'True', type: 'Ready', lastTransitionTime: 't3' }] } });
    assert.equal(memory.view(caughtUp), caughtUp);
    // Forgotten once the cache showed it: an older cached status is the cache's again.
    assert.equal(memory.view(behind), behind);
  });

  it('forgets what it wrote about an earlier object of the same name', () => {
    const memory = new StatusMemory();
    memory.record(rule(), { conditions: [] });
    const recreated = rule({ metadata: { uid: 'u2' } });
    assert.equal(memory.view(recreated), recreated);
  });
});
