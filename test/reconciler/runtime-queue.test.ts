import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Metrics } from '../../src/reconciler/metrics';
import { WorkQueue } from '../../src/reconciler/runtime/queue';
import { ItemExponentialBackoff, TokenBucket } from '../../src/reconciler/runtime/ratelimit';

function fakeClock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('WorkQueue', () => {
  it('de-duplicates a key added while it is queued', async () => {
    const q = new WorkQueue({ name: 't' });
    q.add('a');
    q.add('b');
    q.add('a');
    assert.equal(q.length, 2);
    assert.equal(await q.get(), 'a');
    assert.equal(await q.get(), 'b');
    assert.equal(q.length, 0);
  });

  it('never hands out a key that is being processed; re-queues it after done()', async () => {
    const q = new WorkQueue({ name: 't' });
    q.add('a');
    const k = await q.get();
    assert.equal(k, 'a');
    q.add('a');
    q.add('a');
    assert.equal(q.length, 0, 'a key added during processing must wait for done()');
    let second: string | undefined;
    void q.get().then((x) => (second = x));
    await sleep(10);
    assert.equal(second, undefined, 'a waiting worker must not receive the key being processed');
    q.done('a');
    await sleep(0);
    assert.equal(second, 'a', 'done() queues the key added meanwhile, once');
    q.done('a');
    assert.equal(q.length, 0);
  });

  it('many workers never reconcile one key concurrently', async () => {
    const q = new WorkQueue({ name: 't' });
    const running = new Set<string>();
    let overlaps = 0;
    let processed = 0;
    const workers = Array.from({ length: 8 }, async () => {
      for (;;) {
        const key = await q.get();
        if (key === undefined) return;
        if (running.has(key)) overlaps++;
        running.add(key);
        await sleep(Math.random() * 3);
        running.delete(key);
        processed++;
        q.done(key);
      }
    });
    for (let i = 0; i < 400; i++) {
      q.add(`k${i % 5}`);
      if (i % 10 === 0) await sleep(1);
    }
    await sleep(100);
    q.shutDown();
    await Promise.all(workers);
    assert.equal(overlaps, 0);
    assert.ok(processed >= 5 && processed < 400, `de-dup should collapse adds (processed ${processed})`);
  });

  it('backs off per key exponentially up to the cap, and resets on forget()', () => {
    const b = new ItemExponentialBackoff({ baseDelayMs: 5, maxDelayMs: 100, jitter: 0 });
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map(() => b.when('a')), [5, 10, 20, 40, 80, 100, 100]);
    assert.equal(b.when('b'), 5, 'keys back off independently');
    assert.equal(b.numRequeues('a'), 7);
    b.forget('a');
    assert.equal(b.numRequeues('a'), 0);
    assert.equal(b.when('a'), 5);
  });

  it('applies jitter within [d, d*(1+jitter)] and never above the cap', () => {
    const hi = new ItemExponentialBackoff({ baseDelayMs: 10, maxDelayMs: 1000, jitter: 0.1, random: () => 0.999 });
    const d = hi.when('a');
    assert.ok(d > 10 && d <= 11, `got ${d}`);
    const capped = new ItemExponentialBackoff({ baseDelayMs: 1000, maxDelayMs: 1000, jitter: 0.5, random: () => 0.999 });
    assert.equal(capped.when('a'), 1000);
    // Default: 5 ms doubling to 5 minutes.
    const def = new ItemExponentialBackoff({ jitter: 0 });
    const seq = Array.from({ length: 30 }, () => def.when('x'));
    assert.equal(seq[0], 5);
    assert.equal(seq[1], 10);
    assert.equal(seq[29], 300_000);
  });

  it('addRateLimited waits for the key backoff; forget() resets it', async () => {
    const q = new WorkQueue({ name: 't', rateLimiter: { baseDelayMs: 5, maxDelayMs: 40, jitter: 0 } });
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) {
      q.addRateLimited('a');
      seen.push(q.pendingDelay('a')!);
      assert.equal(await q.get(), 'a');
      q.done('a');
    }
    // pendingDelay is read right after scheduling: at most a millisecond below the backoff.
    assert.deepEqual(seen.map((d) => Math.ceil(d / 5) * 5), [5, 10, 20, 40, 40]);
    assert.equal(q.numRequeues('a'), 5);
    q.addRateLimited('b');
    assert.ok(q.pendingDelay('b')! <= 5, 'keys back off independently');
    q.forget('a');
    assert.equal(q.numRequeues('a'), 0);
    q.addRateLimited('a');
    assert.ok(q.pendingDelay('a')! <= 5, 'forget() resets the backoff');
    q.shutDown();
  });

  it('token bucket: burst immediately, then qps', () => {
    const clock = fakeClock();
    const tb = new TokenBucket({ qps: 10, burst: 100, clock });
    for (let i = 0; i < 100; i++) assert.equal(tb.reserve(), 0);
    assert.equal(Math.round(tb.reserve()), 100);
    assert.equal(Math.round(tb.reserve()), 200);
    clock.advance(100); // one token refills: -2 + 1
    assert.equal(Math.round(tb.reserve()), 200);
    clock.advance(60_000); // refills to the burst, not beyond
    for (let i = 0; i < 100; i++) assert.equal(tb.reserve(), 0);
    assert.equal(Math.round(tb.reserve()), 100);
  });

  it('global rate limit spaces out retries of many keys (real time)', async () => {
    // burst 5 then 50/s: 25 retries of distinct keys need ~(25-5)/50 = 400 ms. Backoff 1 ms so the bucket dominates.
    const q = new WorkQueue({ name: 't', rateLimiter: { qps: 50, burst: 5, baseDelayMs: 1, maxDelayMs: 1, jitter: 0 } });
    const t0 = Date.now();
    for (let i = 0; i < 25; i++) q.addRateLimited(`k${i}`);
    const times: number[] = [];
    for (let i = 0; i < 25; i++) {
      const k = await q.get();
      times.push(Date.now() - t0);
      q.done(k!);
    }
    const total = times[24];
    assert.ok(total >= 350, `25 retries at 50 qps after a burst of 5 took only ${total} ms`);
    assert.ok(total < 1500, `took ${total} ms`);
    assert.ok(times[4] < 100, `the burst should be immediate (${times[4]} ms)`);
    q.shutDown();
  });

  it('addAfter delays, keeps the earliest deadline, and de-duplicates', async () => {
    const q = new WorkQueue({ name: 't' });
    const t0 = Date.now();
    q.addAfter('a', 300);
    q.addAfter('a', 60); // earlier wins
    q.addAfter('a', 500); // later is ignored
    assert.equal(q.length, 0);
    const k = await q.get();
    const waited = Date.now() - t0;
    assert.equal(k, 'a');
    assert.ok(waited >= 55 && waited < 250, `waited ${waited} ms`);
    q.done('a');
    await sleep(350);
    assert.equal(q.length, 0, 'the superseded 300 ms deadline must not add the key again');
    q.addAfter('b', 0);
    assert.equal(q.length, 1, 'addAfter(0) adds at once');
    q.shutDown();
  });

  it('shutDownWithDrain stops handing out work and waits for in-flight work', async () => {
    const q = new WorkQueue({ name: 't' });
    q.add('a');
    q.add('b');
    const a = await q.get();
    const pending = q.get(); // gets b
    assert.equal(await pending, 'b');
    const waiter = q.get(); // nothing queued: waits
    void waiter.then((k) => setTimeout(() => q.done(k!), 180));
    setTimeout(() => q.done(a!), 100);
    setTimeout(() => q.done('b'), 150);
    const t0 = Date.now();
    q.add('c');
    const drained = await q.shutDownWithDrain(5000);
    assert.equal(await waiter, 'c', 'c was handed to the waiting worker before shutdown');
    assert.equal(drained, true);
    assert.ok(Date.now() - t0 >= 170, 'drain waited for all in-flight work');
    assert.equal(await q.get(), undefined, 'no work after shutdown');
    q.add('d');
    assert.equal(q.length, 0, 'adds after shutdown are ignored');
  });

  it('shutDownWithDrain gives up after the grace period', async () => {
    const q = new WorkQueue({ name: 't' });
    q.add('stuck');
    await q.get();
    const waiter = q.get();
    const t0 = Date.now();
    const drained = await q.shutDownWithDrain(200);
    assert.equal(drained, false);
    assert.ok(Date.now() - t0 >= 190);
    assert.equal(await waiter, undefined, 'a waiting worker is released at shutdown');
  });

  it('feeds the workqueue_* metrics', async () => {
    const m = new Metrics({ defaultMetrics: false });
    const q = new WorkQueue({ name: 'postgresserver', metrics: m.queueSink('postgresserver') });
    m.registerQueue(q);
    q.add('a');
    q.add('a');
    q.add('b');
    const k = await q.get();
    await sleep(20);
    q.addRateLimited('c');
    const text = await m.registry.metrics();
    assert.match(text, /workqueue_adds_total\{name="postgresserver"\} 2/);
    assert.match(text, /workqueue_depth\{name="postgresserver"\} 1/);
    assert.match(text, /workqueue_retries_total\{name="postgresserver"\} 1/);
    assert.match(text, /workqueue_queue_duration_seconds_count\{name="postgresserver"\} 1/);
    const longest = Number(/workqueue_longest_running_processor_seconds\{name="postgresserver"\} ([\d.e-]+)/.exec(text)?.[1]);
    assert.ok(longest >= 0.015, `longest running ${longest}`);
    assert.match(text, /workqueue_unfinished_work_seconds\{name="postgresserver"\} [\d.]+/);
    q.done(k!);
    const after = await m.registry.metrics();
    assert.match(after, /workqueue_work_duration_seconds_count\{name="postgresserver"\} 1/);
    q.shutDown();
  });

  it('the poll lane is served first, and a poll-lane worker takes nothing else', async () => {
    const q = new WorkQueue({ name: 't' });
    for (let i = 0; i < 500; i++) q.add(`create-${i}`);
    q.add('poll-1', 'poll');
    assert.equal(q.length, 501);
    assert.equal(await q.get(), 'poll-1', 'a poll goes before the 500 creates queued before it');
    assert.equal(await q.get(), 'create-0');
    // A poll-only worker waits for a poll, never taking a create.
    const pollOnly = q.get('poll');
    let got: string | undefined;
    void pollOnly.then((k) => (got = k));
    await sleep(10);
    assert.equal(got, undefined);
    q.add('poll-2', 'poll');
    assert.equal(await pollOnly, 'poll-2');
    q.shutDown();
  });

  it('a key queued as normal is moved to the poll lane when it is added there; a key in flight keeps its new lane for done()', async () => {
    const q = new WorkQueue({ name: 't' });
    q.add('a');
    q.add('b');
    q.add('b', 'poll');
    assert.equal(q.length, 2, 'still queued once');
    assert.equal(await q.get('poll'), 'b');
    q.add('b', 'poll');
    q.done('b');
    assert.equal(await q.get('poll'), 'b', 're-queued in the poll lane after done()');
    q.done('b');
    q.addAfter('c', 20, 'poll');
    assert.equal(await q.get('poll'), 'c', 'a delayed poll lands in the poll lane');
    assert.equal(await q.get(), 'a');
    q.shutDown();
  });
});
