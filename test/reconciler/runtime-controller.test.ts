/** The controller runner with in-memory event sources (the informers are tested against the real API server). */
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Secret } from '@kubernetes/client-node' with { 'resolution-mode': 'import' };
import { waitFor } from './helpers/kube-testing';
import type { AnyObject, Controller, Kind, ObjectKey, ReconcileResult } from '../../src/reconciler/contracts';
import { Store } from '../../src/reconciler/kube/cache';
import type { InformerHandlers } from '../../src/reconciler/kube/informer';
import { silentLogger } from '../../src/reconciler/log';
import { Metrics } from '../../src/reconciler/metrics';
import { ControllerRunner, type EventSource } from '../../src/reconciler/runtime/controller';
import { RetryPolicy } from '../../src/reconciler/runtime/retry';

class FakeSource<T extends { metadata?: any }> implements EventSource<T> {
  readonly store = new Store<T>();
  private readonly handlers = new Set<InformerHandlers<T>>();
  on(h: InformerHandlers<T>) {
    this.handlers.add(h);
    return () => this.handlers.delete(h);
  }
  add(o: T) {
    this.store.set(o);
    for (const h of this.handlers) h.add?.(o);
  }
  update(o: T) {
    const old = this.store.set(o)!;
    for (const h of this.handlers) h.update?.(old, o);
  }
  delete(o: T) {
    this.store.delete(o.metadata.namespace, o.metadata.name);
    for (const h of this.handlers) h.delete?.(o);
  }
}

function obj(kind: Kind, name: string, extra: Record<string, unknown> = {}): AnyObject {
  return {
    apiVersion: 'cdk8s-azure.dev/v1alpha1',
    kind,
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, resourceVersion: String(Math.random()), ...extra },
    spec: {},
  };
}

function sources() {
  return {
    PostgresServer: new FakeSource<AnyObject>(),
    PostgresDatabase: new FakeSource<AnyObject>(),
    PostgresFirewallRule: new FakeSource<AnyObject>(),
    PostgresRole: new FakeSource<AnyObject>(),
  };
}

class Recorder implements Controller {
  readonly calls: Array<{ key: string; at: number }> = [];
  running = new Set<string>();
  overlaps = 0;
  constructor(
    readonly kind: Kind,
    private readonly impl: (key: ObjectKey, n: number) => Promise<ReconcileResult> = async () => ({}),
    readonly dependsOn?: Controller['dependsOn'],
    readonly ownsSecrets?: boolean,
  ) {}
  async reconcile(key: ObjectKey): Promise<ReconcileResult> {
    const k = `${key.namespace}/${key.name}`;
    if (this.running.has(k)) this.overlaps++;
    this.running.add(k);
    this.calls.push({ key: k, at: Date.now() });
    try {
      return await this.impl(key, this.calls.filter((c) => c.key === k).length);
    } finally {
      this.running.delete(k);
    }
  }
  count(key: string) {
    return this.calls.filter((c) => c.key === key).length;
  }
}

const log = silentLogger();

describe('ControllerRunner', () => {
  it('reconciles existing objects at start, then on add, update and delete', async () => {
    const src = sources();
    src.PostgresServer.add(obj('PostgresServer', 'existing'));
    const c = new Recorder('PostgresServer');
    const r = new ControllerRunner({ controller: c, sources: src, log });
    r.start();
    await waitFor('initial reconcile', () => c.count('ns/existing') === 1);
    src.PostgresServer.add(obj('PostgresServer', 'new'));
    await waitFor('add', () => c.count('ns/new') === 1);
    src.PostgresServer.update(obj('PostgresServer', 'new', { generation: 2 })); // a spec change bumps generation
    await waitFor('update', () => c.count('ns/new') === 2);
    src.PostgresServer.delete(obj('PostgresServer', 'new'));
    await waitFor('delete', () => c.count('ns/new') === 3);
    src.PostgresDatabase.add(obj('PostgresDatabase', 'other-kind'));
    await sleep(50);
    assert.equal(c.count('ns/other-kind'), 0, 'other kinds are not this controller\'s keys');
    await r.stop(1000);
  });

  it('maps dependency changes and owned Secret changes to owner keys', async () => {
    const src = sources();
    const secrets = new FakeSource<V1Secret>();
    const c = new Recorder(
      'PostgresDatabase',
      undefined,
      [{
        kind: 'PostgresServer',
        mapToKeys: (o) => {
          if (o.metadata.name === 'boom') throw new Error('bad mapping');
          return [{ namespace: o.metadata.namespace, name: `db-of-${o.metadata.name}` }];
        },
      }],
      true,
    );
    const r = new ControllerRunner({ controller: c, sources: src, secrets, log });
    r.start();
    src.PostgresServer.add(obj('PostgresServer', 'boom')); // a throwing mapping is logged, not fatal
    src.PostgresServer.add(obj('PostgresServer', 's1'));
    await waitFor('dependency mapped', () => c.count('ns/db-of-s1') === 1);
    const secret = (name: string, ownerKind: string, controller = true): V1Secret => ({
      metadata: {
        name,
        namespace: 'ns',
        ownerReferences: [{ apiVersion: 'cdk8s-azure.dev/v1alpha1', kind: ownerKind, name: `owner-${name}`, uid: 'u', controller }],
      },
    });
    secrets.add(secret('a', 'PostgresDatabase'));
    await waitFor('owned secret add', () => c.count('ns/owner-a') === 1);
    secrets.delete(secret('a', 'PostgresDatabase'));
    await waitFor('owned secret delete', () => c.count('ns/owner-a') === 2);
    secrets.add(secret('b', 'PostgresServer'));
    secrets.add(secret('c', 'PostgresDatabase', false));
    await sleep(50);
    assert.equal(c.count('ns/owner-b'), 0, 'a Secret owned by another kind is not ours');
    assert.equal(c.count('ns/owner-c'), 0, 'only the controller owner reference counts');
    await r.stop(1000);
  });

  it('catches reconcile errors, retries with growing backoff, keeps serving other keys, and resets on success', async () => {
    const src = sources();
    const metrics = new Metrics({ defaultMetrics: false });
    const c = new Recorder('PostgresRole', async (key, n) => {
      if (key.name === 'bad' && n <= 5) {
        if (n === 3) return Promise.reject('a rejected non-Error');
        throw new Error(`attempt ${n} failed`);
      }
      return {};
    });
    const r = new ControllerRunner({
      controller: c,
      sources: src,
      log,
      metrics,
      rateLimiter: { baseDelayMs: 20, maxDelayMs: 10_000, jitter: 0 },
    });
    r.start();
    src.PostgresRole.add(obj('PostgresRole', 'bad'));
    src.PostgresRole.add(obj('PostgresRole', 'good'));
    await waitFor('good reconciled', () => c.count('ns/good') === 1);
    await waitFor('bad succeeds on the 6th attempt', () => c.count('ns/bad') === 6, 5000);
    const times = c.calls.filter((x) => x.key === 'ns/bad').map((x) => x.at);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    // 20, 40, 80, 160, 320 ms (timers may fire a little late, never early)
    [20, 40, 80, 160, 320].forEach((want, i) => assert.ok(gaps[i] >= want - 2, `gap ${i} ${gaps[i]} < ${want}`));
    assert.ok(gaps[4] > gaps[0] * 4, `backoff grows: ${gaps}`);
    assert.equal(r.queue.numRequeues('ns/bad'), 0, 'success resets the backoff');
    const text = await metrics.registry.metrics();
    assert.match(text, /controller_runtime_reconcile_errors_total\{controller="postgresrole"\} 5/);
    assert.match(text, /controller_runtime_reconcile_total\{controller="postgresrole",result="error"\} 5/);
    assert.match(text, /controller_runtime_reconcile_total\{controller="postgresrole",result="success"\} 2/);
    assert.match(text, /controller_runtime_reconcile_time_seconds_count\{controller="postgresrole"\} 7/);
    assert.match(text, /workqueue_retries_total\{name="postgresrole"\} 5/);
    assert.match(text, /controller_runtime_active_workers\{controller="postgresrole"\} 0/);
    await r.stop(1000);
  });

  it('honours requeueAfterMs, and requeueAfterMs 0 as an immediate rate-limited requeue', async () => {
    const src = sources();
    const c = new Recorder('PostgresServer', async (key, n) => {
      if (key.name === 'poll') return n < 3 ? { requeueAfterMs: 150 } : {};
      if (key.name === 'again') return n < 3 ? { requeueAfterMs: 0 } : {};
      return {};
    });
    const r = new ControllerRunner({ controller: c, sources: src, log });
    r.start();
    src.PostgresServer.add(obj('PostgresServer', 'poll'));
    src.PostgresServer.add(obj('PostgresServer', 'again'));
    await waitFor('three polls', () => c.count('ns/poll') === 3, 3000);
    const t = c.calls.filter((x) => x.key === 'ns/poll').map((x) => x.at);
    assert.ok(t[1] - t[0] >= 145 && t[1] - t[0] < 600, `requeue after ${t[1] - t[0]} ms`);
    assert.ok(t[2] - t[1] >= 145, `requeue after ${t[2] - t[1]} ms`);
    await waitFor('immediate requeues', () => c.count('ns/again') === 3, 3000);
    await sleep(400);
    assert.equal(c.count('ns/poll'), 3, 'no requeue after a plain success');
    await r.stop(1000);
  });

  it('a poll is not delayed by 500 queued creates whose workers are all held (for ARM\'s write tokens)', async () => {
    const src = sources();
    let release!: () => void;
    const writeTokens = new Promise<void>((resolve) => (release = resolve));
    const c = new Recorder('PostgresFirewallRule', async (key, n) => {
      if (key.name.startsWith('create-')) {
        await writeTokens;
        return {};
      }
      return n === 1 ? { requeueAfterMs: 300 } : {};
    });
    const r = new ControllerRunner({ controller: c, sources: src, log, workers: 4 });
    r.start();
    src.PostgresFirewallRule.add(obj('PostgresFirewallRule', 'operation'));
    await waitFor('first reconcile of the operation', () => c.count('ns/operation') === 1);
    // Its poll is due in 300 ms; 500 creates are queued before that and take every normal worker.
    for (let i = 0; i < 500; i++) src.PostgresFirewallRule.add(obj('PostgresFirewallRule', `create-${i}`));
    await waitFor('the operation polled', () => c.count('ns/operation') === 2, 2000);
    assert.equal(c.calls.filter((x) => x.key.startsWith('ns/create-')).length, 4, 'every normal worker is held by a create');
    release();
    await waitFor('all creates', () => c.calls.filter((x) => x.key.startsWith('ns/create-')).length === 500, 5000);
    await r.stop(1000);
  });

  it('reported failures retry by class: transient backoff grows across consecutive failures; a poll resets it (controller-runtime)', async () => {
    const src = sources();
    const metrics = new Metrics({ defaultMetrics: false });
    // fail, fail, poll, fail, fail, then success: an operation whose polls fail now and then (a 503 on the GET).
    const script: Array<{ requeueAfterMs?: number; failure?: 'transient' }> = [
      { failure: 'transient' }, { failure: 'transient' }, { requeueAfterMs: 10 }, { failure: 'transient' }, { failure: 'transient' }, {},
    ];
    const failuresSeen: number[] = [];
    let r!: ControllerRunner;
    const c = new Recorder('PostgresServer', async (key, n) => {
      failuresSeen.push(r.retry.failures(`${key.namespace}/${key.name}`));
      return script[n - 1] ?? {};
    });
    r = new ControllerRunner({ controller: c, sources: src, log, metrics, retry: { transientBaseMs: 40, jitter: 0 }, resyncPeriodMs: 0 });
    r.start();
    src.PostgresServer.add(obj('PostgresServer', 'flaky'));
    await waitFor('all six reconciles', () => c.count('ns/flaky') === 6, 5000);
    // The poll (progress, not a failure) forgets the backoff, as controller-runtime's RequeueAfter does.
    assert.deepEqual(failuresSeen, [0, 1, 2, 0, 1, 2]);
    const t = c.calls.map((x) => x.at);
    const afterFailure = [t[1] - t[0], t[2] - t[1], t[4] - t[3], t[5] - t[4]];
    [40, 80, 40, 80].forEach((want, i) => assert.ok(afterFailure[i] >= want - 2, `retry ${i} after ${afterFailure[i]} ms, want ${want}`));
    assert.equal(r.retry.failures('ns/flaky'), 0, 'success resets the backoff');
    const text = await metrics.registry.metrics();
    assert.match(text, /controller_runtime_reconcile_total\{controller="postgresserver",result="error"\} 4/);
    assert.match(text, /controller_runtime_reconcile_errors_total\{controller="postgresserver"\} 4/);
    await r.stop(1000);
  });

  it('throttled waits for Retry-After without growing the backoff; invalidSpec waits for a change; userError retries slowly', async () => {
    const src = sources();
    const c = new Recorder('PostgresDatabase', async (key, n) => {
      if (key.name === 'throttled') return n < 3 ? { requeueAfterMs: 150, failure: 'throttled' } : {};
      if (key.name === 'invalid') return { failure: 'invalidSpec' };
      if (key.name === 'user') return { failure: 'userError' };
      return {};
    });
    const retry = { userErrorMs: 1000, transientBaseMs: 10, jitter: 0 };
    const r = new ControllerRunner({ controller: c, sources: src, log, retry, resyncPeriodMs: 100 });
    r.start();
    src.PostgresDatabase.add(obj('PostgresDatabase', 'throttled'));
    src.PostgresDatabase.add(obj('PostgresDatabase', 'invalid'));
    src.PostgresDatabase.add(obj('PostgresDatabase', 'user'));
    await waitFor('throttled three times', () => c.count('ns/throttled') === 3, 3000);
    const t = c.calls.filter((x) => x.key === 'ns/throttled').map((x) => x.at);
    assert.ok(t[1] - t[0] >= 145 && t[2] - t[1] >= 145, `after Retry-After: ${t[1] - t[0]}, ${t[2] - t[1]}`);
    assert.equal(r.retry.failures('ns/throttled'), 0, 'throttling is not a failure of the key');
    await sleep(300);
    assert.equal(c.count('ns/invalid'), 1, 'an invalid spec is not retried, nor resynced');
    assert.equal(c.count('ns/user'), 1, 'a user error is retried slowly');
    src.PostgresDatabase.update(obj('PostgresDatabase', 'invalid', { generation: 2 }));
    await waitFor('a new generation is reconciled', () => c.count('ns/invalid') === 2);
    await waitFor('the user error retried after its period', () => c.count('ns/user') === 2, 2000);
    await r.stop(1000);
  });

  it('the echo of its own Secret write does not requeue the owner; someone else\'s change does', async () => {
    const src = sources();
    const secrets = new FakeSource<V1Secret>();
    const own = new Set<string>();
    const c = new Recorder('PostgresServer', undefined, undefined, true);
    const r = new ControllerRunner({ controller: c, sources: src, secrets, log, isOwnSecretWrite: (s) => own.has(s.metadata!.resourceVersion!) });
    r.start();
    const secret = (rv: string): V1Secret => ({
      metadata: { name: 'admin', namespace: 'ns', resourceVersion: rv, ownerReferences: [{ apiVersion: 'cdk8s-azure.dev/v1alpha1', kind: 'PostgresServer', name: 'srv', uid: 'u', controller: true }] },
    });
    own.add('1');
    own.add('2');
    secrets.add(secret('1'));
    secrets.update(secret('2'));
    await sleep(100);
    assert.equal(c.count('ns/srv'), 0, 'echoes of our own writes');
    secrets.update(secret('3')); // kubectl edit
    await waitFor('a foreign edit requeues the owner', () => c.count('ns/srv') === 1);
    await sleep(50);
    assert.equal(c.count('ns/srv'), 1, 'once per event');
    secrets.delete(secret('3'));
    await waitFor('a deletion requeues the owner', () => c.count('ns/srv') === 2);
    await r.stop(1000);
  });

  it('never runs two reconciles of one key at once, with many workers and a flood of events', async () => {
    const src = sources();
    const c = new Recorder('PostgresDatabase', async () => {
      await sleep(5 + Math.random() * 10);
      return {};
    });
    const r = new ControllerRunner({ controller: c, sources: src, log, workers: 8 });
    r.start();
    for (let i = 0; i < 300; i++) {
      src.PostgresDatabase.add(obj('PostgresDatabase', `k${i % 6}`));
      if (i % 20 === 0) await sleep(3);
    }
    await sleep(300);
    assert.equal(c.overlaps, 0);
    assert.ok(c.calls.length >= 6);
    await r.stop(1000);
  });

  it('resyncs each existing object periodically (jittered) and not deleted ones', async () => {
    const src = sources();
    const c = new Recorder('PostgresFirewallRule');
    const r = new ControllerRunner({ controller: c, sources: src, log, resyncPeriodMs: 200 });
    src.PostgresFirewallRule.add(obj('PostgresFirewallRule', 'live'));
    src.PostgresFirewallRule.add(obj('PostgresFirewallRule', 'gone'));
    r.start();
    await waitFor('initial', () => c.count('ns/live') === 1 && c.count('ns/gone') === 1);
    src.PostgresFirewallRule.store.delete('ns', 'gone'); // deleted without an event reaching us yet
    await waitFor('resyncs', () => c.count('ns/live') >= 4, 3000);
    const t = c.calls.filter((x) => x.key === 'ns/live').map((x) => x.at);
    for (let i = 1; i < t.length; i++) assert.ok(t[i] - t[i - 1] >= 175, `resync gap ${t[i] - t[i - 1]}`);
    assert.ok(c.count('ns/gone') <= 2, 'a deleted object stops being resynced');
    await r.stop(1000);
  });

  it('stop() stops taking work and waits for in-flight reconciles up to the grace period', async () => {
    const src = sources();
    let finished = 0;
    const c = new Recorder('PostgresServer', async (key) => {
      await sleep(key.name === 'slow' ? 2000 : 200);
      finished++;
      return {};
    });
    const r = new ControllerRunner({ controller: c, sources: src, log, workers: 2 });
    src.PostgresServer.add(obj('PostgresServer', 'a'));
    r.start();
    await waitFor('a running', () => c.running.has('ns/a'));
    const startedAt = c.calls.find((x) => x.key === 'ns/a')!.at;
    assert.equal(await r.stop(5000), true);
    assert.equal(finished, 1, 'the in-flight reconcile finished');
    // Measured from the reconcile's own start: the test cannot know how long waitFor took to see it running.
    assert.ok(Date.now() - startedAt >= 195, 'stop() resolved no earlier than the 200 ms reconcile');
    src.PostgresServer.add(obj('PostgresServer', 'b'));
    await sleep(50);
    assert.equal(c.count('ns/b'), 0, 'no work after stop');

    const src2 = sources();
    const c2 = new Recorder('PostgresServer', async () => {
      await sleep(2000);
      return {};
    });
    const r2 = new ControllerRunner({ controller: c2, sources: src2, log });
    src2.PostgresServer.add(obj('PostgresServer', 'slow'));
    r2.start();
    await waitFor('slow running', () => c2.running.has('ns/slow'));
    const t1 = Date.now();
    assert.equal(await r2.stop(300), false, 'grace period exceeded');
    assert.ok(Date.now() - t1 < 1000);
    assert.ok(r2.longestRunningSeconds() > 0.2);
  });
});

describe('RetryPolicy', () => {
  it('a transient failure after a poll backs off from the base again, not from where the last failure left it', () => {
    const retry = new RetryPolicy({ transientBaseMs: 1000, jitter: 0 });
    const delays = [
      retry.next('k', { failure: 'transient' }),
      retry.next('k', { failure: 'transient' }),
      retry.next('k', { failure: 'transient' }),
      retry.next('k', { requeueAfterMs: 10_000 }), // still running, look again in 10 s
      retry.next('k', { failure: 'transient' }),
    ].map((n) => (n.action === 'after' ? n.delayMs : n.action));
    assert.deepEqual(delays, [1000, 2000, 4000, 10_000, 1000]);
  });

  it('throttling neither grows nor resets the backoff; a requeue at once (through the queue\'s limiter) keeps it', () => {
    const retry = new RetryPolicy({ transientBaseMs: 1000, jitter: 0 });
    retry.next('k', { failure: 'transient' });
    retry.next('k', { failure: 'throttled', requeueAfterMs: 3000 });
    retry.next('k', { requeueAfterMs: 0 });
    assert.equal(retry.failures('k'), 1);
    const next = retry.next('k', { failure: 'transient' });
    assert.deepEqual(next, { action: 'after', delayMs: 2000, result: 'error' });
  });
});
