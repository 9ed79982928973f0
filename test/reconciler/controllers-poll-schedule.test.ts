/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
/** An operation in flight is not polled before the delay its last answer asked for, whatever requeues its object. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OperationStatus } from '../../src/reconciler/contracts';
import { DEFAULT_TIMING } from '../../src/reconciler/controllers/common';
import { followRecordedOperation, recordRunning } from '../../src/reconciler/controllers/lifecycle/operations';
import { PollSchedule } from '../../src/reconciler/controllers/lifecycle/poll-schedule';

const operation: OperationStatus = { type: 'Create', startedAt: '2026-01-01T00:00:00Z', resumeToken: '{"state":{"status":"running","config":{"operationLocation":"https://x/op"}}}' };

/** A reconcile's context with what following an operation touches: its status and the schedule. */
function contextAt(clock: { t: number }, polls: PollSchedule) {
  const status = {
    status: {} as { operation?: OperationStatus },
    commits: 0,
    setOperation(op?: OperationStatus) { this.status.operation = op; },
    ready() {},
    async commit() { this.commits++; },
  };
  const ctx = { object: { metadata: { uid: 'uid-1', name: 'r', namespace: 'ns' } }, status, polls, timing: DEFAULT_TIMING, at: { name: 'r', parents: ['s'], resourceGroup: 'rg' }, log: { info() {} } };
  return { ctx: ctx as any, status, clock };
}

describe('poll schedule', () => {
  it('a requeue before Azure\'s Retry-After sends no poll; after it, one', async () => {
    const clock = { t: 1_000_000 };
    const polls = new PollSchedule(() => clock.t);
    const { ctx } = contextAt(clock, polls);
    let resumes = 0;
    const resource = { resume: async () => { resumes++; return { status: 'running' as const, operation, retryAfterMs: 5_000 }; } } as any;

    const first = await recordRunning(ctx, operation, 'creating firewall rule r', 5_000);
    assert.equal(first.requeueAfterMs, 5_000);

    clock.t += 1_000; // the echo of its own write, its server's status, a resync...
    const early = await followRecordedOperation(ctx, resource, 'firewall rule');
    assert.equal(resumes, 0, 'no poll before the Retry-After');
    assert.equal(early.ended, 'running');
    assert.equal(early.ended === 'running' && early.result.requeueAfterMs, 4_000, 'looked at again when it is due');

    clock.t += 4_000;
    await followRecordedOperation(ctx, resource, 'firewall rule');
    assert.equal(resumes, 1, 'polled once it is due');
  });

  it('an operation this process never scheduled (recorded by another) is polled at once', async () => {
    const polls = new PollSchedule();
    const { ctx, status } = contextAt({ t: 0 }, polls);
    status.status.operation = operation;
    let resumes = 0;
    const resource = { resume: async () => { resumes++; return { status: 'succeeded' as const }; } } as any;
    const followed = await followRecordedOperation(ctx, resource, 'firewall rule');
    assert.equal(resumes, 1);
    assert.equal(followed.ended, 'succeeded');
  });
});
