/**
 * Two lists of Azure's extensions, on purpose: the emulator's allowed values of azure.extensions stand for Azure (what
 * the service accepts), src/api's AZURE_EXTENSIONS is the product's synth-time catalog of it. The emulator keeps its
 * own copy so that a wrong catalog in the product fails against it instead of being echoed by it; this test fails
 * when the two drift, and whichever is wrong about Azure is the one to fix.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CONFIG_SPECS } from './configurations';
import { AZURE_EXTENSIONS } from '../../src/api/extensions';

test('the emulator\'s azure.extensions allows exactly the extensions of src/api\'s catalog', () => {
  const spec = CONFIG_SPECS.find((c) => c.name === 'azure.extensions');
  assert.ok(spec, 'the emulator has azure.extensions');
  const emulated = spec.allowedValues.split(',');
  assert.equal(new Set(emulated).size, emulated.length, 'the emulator lists each extension once');
  const missingInProduct = emulated.filter((e) => !AZURE_EXTENSIONS.includes(e));
  const missingInEmulator = AZURE_EXTENSIONS.filter((e) => !emulated.includes(e));
  assert.deepEqual({ missingInProduct, missingInEmulator }, { missingInProduct: [], missingInEmulator: [] });
});
