/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generatePassword, passwordProblems, PASSWORD_LENGTH } from '../../src/reconciler/password';

describe('generatePassword', () => {
  it('meets Azure complexity rules, every time', () => {
    for (let i = 0; i < 2000; i++) {
      const pw = generatePassword('pgadmin');
      assert.equal(pw.length, PASSWORD_LENGTH);
      assert.match(pw, /[A-Z]/);
      assert.match(pw, /[a-z]/);
      assert.match(pw, /[0-9]/);
      assert.match(pw, /[^A-Za-z0-9]/);
      assert.deepEqual(passwordProblems(pw, 'pgadmin'), []);
      assert.ok(!/adm|pga|gad|dmi|min/i.test(pw), 'contains part of the login');
    }
  });

  it('is random (no repeats in 1000)', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) seen.add(generatePassword());
    assert.equal(seen.size, 1000);
  });

  it('avoids characters that break careless consumers', () => {
    for (let i = 0; i < 500; i++) assert.doesNotMatch(generatePassword(), /["'`\\$%&/:@\s]/);
  });

  it('honours the length bounds', () => {
    assert.equal(generatePassword('', 8).length, 8);
    assert.equal(generatePassword('', 128).length, 128);
    assert.throws(() => generatePassword('', 7), RangeError);
    assert.throws(() => generatePassword('', 129), RangeError);
  });
});

describe('passwordProblems', () => {
  it('rejects short, too simple and login-containing passwords', () => {
    assert.equal(passwordProblems('Ab1!').length, 1);
    assert.equal(passwordProblems('abcdefghij').length, 1);
    assert.deepEqual(passwordProblems('abcdefgh1!'), []);
    assert.equal(passwordProblems('xxPGADMINxx1!', 'pgadmin').length, 1);
    assert.equal(passwordProblems('xxDMIxx1!Aa', 'pgadmin').length, 1);
    assert.deepEqual(passwordProblems('xxDMxx1!Aa', 'pgadmin'), []);
  });
});
