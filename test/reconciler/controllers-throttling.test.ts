/**
 * Many new resources at once against ARM's token-bucket throttling (the emulator's, scaled down): the client paces
 * itself from x-ms-ratelimit-remaining-* and converges with few 429s, where the same client without pacing bounces
 * off them (cf. Azure/azure-service-operator#2591, #2643). Workers are simulated as the runtime runs them: a fixed
 * number of concurrent reconciles, each key requeued after what its reconcile returned.
 */
/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHarness, type Harness } from './helpers/harness';
import type { ObjectKey } from '../../src/reconciler/contracts';

let h: Harness;
const NS = 'many';
const WORKERS = 8;
const RULES = 40;

before(async () => {
  h = await startHarness();
  const key = h.kube.create('PostgresServer', NS, 'server', { azureName: 'srv-many', resourceGroup: { name: 'rg-many', create: true }, location: 'eastus', writeConnectionSecretToRef: { name: 'server-admin' } });
  await h.until('PostgresServer', key, () => h.ready('PostgresServer', key)?.status === 'True', 'server Ready');
});
after(async () => {
  await h?.stop();
});

async function runWorkers(keys: ObjectKey[], timeoutMs: number): Promise<number> {
  const dueAt = new Map(keys.map((k) => [k.name, 0]));
  const isReady = (k: ObjectKey) => h.ready('PostgresFirewallRule', k)?.status === 'True';
  const t0 = Date.now();
  const queue = [...keys];
  const busy = new Set<string>();
  while (!keys.every(isReady)) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`not converged: ${keys.filter((k) => !isReady(k)).length} left`);
    const batch: Promise<void>[] = [];
    for (const k of queue) {
      if (batch.length >= WORKERS) break;
      if (isReady(k) || busy.has(k.name) || dueAt.get(k.name)! > Date.now()) continue;
      busy.add(k.name);
      batch.push(h.controllers.PostgresFirewallRule.reconcile(k).then(
        (r) => { dueAt.set(k.name, Date.now() + (r.requeueAfterMs ?? 200)); },
        () => { dueAt.set(k.name, Date.now() + 500); },
      ).finally(() => { busy.delete(k.name); }));
    }
    if (batch.length > 0) await Promise.race([Promise.all(batch), new Promise((r) => setTimeout(r, 50))]);
    await Promise.all(batch);
    if (batch.length === 0) await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - t0;
}

function createRules(prefix: string): ObjectKey[] {
  return Array.from({ length: RULES }, (_, i) => h.kube.create('PostgresFirewallRule', NS, `${prefix}-${i}`, {
    serverRef: { name: 'server' }, azureName: `${prefix}-${i}`, startIpAddress: `10.1.${i}.1`, endIpAddress: `10.1.${i}.9`,
  }));
}

describe('a burst of new resources under ARM throttling', () => {
  it('paced: converges with few 429s; unpaced: many', async () => {
    // Tight enough that 40 rules (2 reads and 1 write each) overrun them when nothing paces.
    const buckets = { reads: { burst: 15, perSecond: 8 }, writes: { burst: 5, perSecond: 2 }, deletes: { burst: 10, perSecond: 5 } };

    h.emu.admin.setThrottling(buckets);
    h.restart({ lowWater: 0 }); // pacing off: the policy still honours Retry-After on 429
    let throttledBefore = h.emu.admin.requests().throttled;
    const unpacedMs = await runWorkers(createRules('raw'), 180_000);
    const unpaced429 = h.emu.admin.requests().throttled - throttledBefore;

    h.emu.admin.setThrottling(buckets); // full buckets again
    h.restart({ lowWater: 10, maxIntervalMs: 1000 });
    throttledBefore = h.emu.admin.requests().throttled;
    const pacedMs = await runWorkers(createRules('paced'), 180_000);
    const paced429 = h.emu.admin.requests().throttled - throttledBefore;

    console.log(`${RULES} firewall rules, ${WORKERS} workers: unpaced ${unpaced429} x 429 in ${unpacedMs} ms; paced ${paced429} x 429 in ${pacedMs} ms`);
    assert.ok(unpaced429 >= 10, `the unpaced client should hit the limit (got ${unpaced429})`);
    assert.ok(paced429 * 4 <= unpaced429, `pacing should avoid most 429s: paced ${paced429}, unpaced ${unpaced429}`);
    // No throttling ever surfaced as a condition.
    const reasons = new Set(h.kube.list('PostgresFirewallRule', NS).map((o) => o.status?.conditions?.find((c) => c.type === 'Ready')?.reason));
    assert.deepEqual([...reasons], ['Available']);
    assert.ok(!h.kube.events.some((e) => e.type === 'Warning' && /TooManyRequests|throttl/i.test(e.reason + e.message)));
    h.emu.admin.setThrottling(false);
  });
});
