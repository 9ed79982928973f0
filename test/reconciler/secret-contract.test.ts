/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client } from 'pg';
import { generatePassword } from '../../src/reconciler/password';
import {
  connectionSecretData,
  decodeSecretData,
  passwordFromUri,
  pgpassEscape,
  SECRET_KEYS,
  strictEncode,
} from '../../src/reconciler/secret-contract';

/** java.net.URLDecoder semantics (pgjdbc decodes parameter values with it): '+' is a space, then %XX. */
function javaUrlDecode(s: string): string {
  return decodeURIComponent(s.replace(/\+/g, ' '));
}

function parseJdbc(uri: string) {
  const m = /^jdbc:postgresql:\/\/([^:/]+):(\d+)\/([^?]*)\?(.*)$/.exec(uri);
  assert.ok(m, `not a JDBC URL: ${uri}`);
  const params: Record<string, string> = {};
  for (const kv of m[4].split('&')) {
    const i = kv.indexOf('=');
    params[kv.slice(0, i)] = javaUrlDecode(kv.slice(i + 1));
  }
  return { host: m[1], port: m[2], dbname: javaUrlDecode(m[3]), params };
}

/** libpq's .pgpass parsing: fields split on unescaped ':', backslash escapes the next character. */
function parsePgpass(line: string): string[] {
  const fields: string[] = [];
  let cur = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\' && i + 1 < line.length) {cur += line[++i];} else if (c === ':') { fields.push(cur); cur = ''; } else {cur += c;}
  }
  fields.push(cur);
  return fields;
}

const NASTY = [
  'p@ss:w/rd?#&=+ %\\\'"`$!*()[]{};,<>|^~',
  'Pässwörd-ünïcödé-密码-🔑',
  ':::\\\\::',
  '%41%2B+plus+',
  'trailing\\',
];

describe('connectionSecretData', () => {
  it('has exactly the contract keys', () => {
    const d = connectionSecretData({ host: 'h.postgres.database.azure.com', dbname: 'app', username: 'u', password: 'Pw1!xxxx' });
    assert.deepEqual(Object.keys(d).sort(), [...SECRET_KEYS].sort());
    assert.equal(d.port, '5432');
    assert.equal(d.sslmode, 'require');
    assert.equal(d.uri, 'postgresql://u:Pw1%21xxxx@h.postgres.database.azure.com:5432/app?sslmode=require');
    assert.equal(d['jdbc-uri'], 'jdbc:postgresql://h.postgres.database.azure.com:5432/app?user=u&password=Pw1%21xxxx&sslmode=require');
    assert.equal(d.pgpass, 'h.postgres.database.azure.com:5432:app:u:Pw1!xxxx');
  });

  for (const password of [...NASTY, generatePassword(), generatePassword()]) {
    it(`special characters survive uri, jdbc-uri and pgpass: ${JSON.stringify(password)}`, () => {
      const info = { host: 'srv-1.postgres.database.azure.com', dbname: 'my_db', username: 'app_user', password };
      const d = connectionSecretData(info);

      // As node-postgres reads DATABASE_URL-style strings (pg-connection-string, libpq's URI rules).
      type Parsed = { user: string; password: string; host: string; port: number; database: string; ssl: unknown };
      const u = new Client({ connectionString: d.uri }) as unknown as Parsed;
      assert.equal(u.password, password);
      assert.equal(u.user, 'app_user');
      assert.equal(u.host, info.host);
      assert.equal(u.port, 5432);
      assert.equal(u.database, 'my_db');
      assert.ok(u.ssl, 'sslmode=require turns TLS on');
      assert.equal(passwordFromUri(d.uri), password);
      const whatwg = new URL(d.uri);
      assert.equal(decodeURIComponent(whatwg.password), password);

      const j = parseJdbc(d['jdbc-uri']);
      assert.equal(j.params.password, password);
      assert.equal(j.params.user, 'app_user');
      assert.equal(j.params.sslmode, 'require');
      assert.equal(j.dbname, 'my_db');

      assert.deepEqual(parsePgpass(d.pgpass), [info.host, '5432', 'my_db', 'app_user', password]);
      assert.equal(d.password, password);
    });
  }

  it('strictEncode leaves only unreserved characters raw', () => {
    assert.equal(strictEncode("a-._~!*'()+ @"), 'a-._~%21%2A%27%28%29%2B%20%40');
    assert.equal(strictEncode('é'), '%C3%A9');
  });

  it('pgpassEscape escapes backslash before colon', () => {
    assert.equal(pgpassEscape('a\\:b'), 'a\\\\\\:b');
  });

  it('decodeSecretData reads base64 data', () => {
    const data = { password: Buffer.from('x:y').toString('base64') };
    assert.deepEqual(decodeSecretData({ data }), { password: 'x:y' });
    assert.deepEqual(decodeSecretData(undefined), {});
  });

  it('passwordFromUri is undefined for garbage', () => {
    assert.equal(passwordFromUri(undefined), undefined);
    assert.equal(passwordFromUri('nonsense'), undefined);
    assert.equal(passwordFromUri('postgresql://u:%E0%A4%A@h/db'), undefined);
  });
});
