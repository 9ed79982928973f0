/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
/**
 * A status's conditions: Ready first, the others by type, whatever order they were set in (ordered by code point,
 * which for the reconciler's ASCII PascalCase types is the order localeCompare gave, without loading ICU data).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { READY, setCondition } from '../../src/reconciler/controllers/common';
import { ISOLATED } from '../../src/reconciler/controllers/role/controller';
import { PASSWORD_SYNCED } from '../../src/reconciler/controllers/server-credentials';

const at = new Date('2026-01-01T00:00:00Z');
const types = (conditions: Array<{ type: string }>) => conditions.map((c) => c.type);

describe('setCondition', () => {
  it('puts Ready first and orders the other types, in any order of setting', () => {
    const orders = [[PASSWORD_SYNCED, READY, ISOLATED], [READY, ISOLATED, PASSWORD_SYNCED], [ISOLATED, PASSWORD_SYNCED, READY]];
    for (const order of orders) {
      let conditions: ReturnType<typeof setCondition> = [];
      for (const type of order) conditions = setCondition(conditions, type, 'True', 'Reason', 'message', 1, at);
      assert.deepEqual(types(conditions), [READY, ISOLATED, PASSWORD_SYNCED], `set in the order ${order.join(', ')}`);
    }
  });

  it('replaces a condition of the same type in place of adding one, and keeps the order', () => {
    let conditions = setCondition([], PASSWORD_SYNCED, 'False', 'Pending', 'not yet', 1, at);
    conditions = setCondition(conditions, READY, 'False', 'Creating', 'creating', 1, at);
    conditions = setCondition(conditions, PASSWORD_SYNCED, 'True', 'Synced', 'synced', 2, at);
    assert.deepEqual(types(conditions), [READY, PASSWORD_SYNCED]);
    assert.equal(conditions[1].status, 'True');
    assert.equal(conditions[1].observedGeneration, 2);
  });

  it('orders types that differ only in case by code point, upper case first', () => {
    const conditions = setCondition(setCondition([], 'Zeta', 'True', 'R', 'm', 1, at), 'alpha', 'True', 'R', 'm', 1, at);
    assert.deepEqual(types(conditions), ['Zeta', 'alpha']);
  });
});
