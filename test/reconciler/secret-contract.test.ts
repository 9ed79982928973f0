/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { Client } from 'pg';
import { POSTGRES_ENTRA_SCOPE } from '../../src/api';
import { generatePassword } from '../../src/reconciler/password';
import {
  CA_KEY,
  connectionSecretData,
  decodeSecretData,
  JDBC_ENTRA_PLUGIN,
  PASSWORDLESS_SECRET_KEYS,
  passwordFromUri,
  passwordlessSecretData,
  pgpassEscape,
  postgresTokenScope,
  SECRET_KEYS,
  secretCaBundle,
  strictEncode,
} from '../../src/reconciler/secret-contract';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

/** The certificates of a PEM bundle. */
function certificatesOf(bundle: string): X509Certificate[] {
  return (bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((pem) => new X509Certificate(pem));
}

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
    const d = connectionSecretData({ host: 'h.postgres.database.azure.com', dbname: 'app', username: 'u', password: 'Pw1!xxxx', ca: CA });
    assert.deepEqual(Object.keys(d).sort(), [...SECRET_KEYS].sort());
    assert.equal(d.port, '5432');
    assert.equal(d.sslmode, 'verify-full');
    assert.equal(d[CA_KEY], CA);
    assert.equal(d.uri, 'postgresql://u:Pw1%21xxxx@h.postgres.database.azure.com:5432/app?sslmode=verify-full');
    assert.equal(d['jdbc-uri'], 'jdbc:postgresql://h.postgres.database.azure.com:5432/app?user=u&password=Pw1%21xxxx&sslmode=verify-full');
    assert.equal(d.pgpass, 'h.postgres.database.azure.com:5432:app:u:Pw1!xxxx');
  });

  for (const password of [...NASTY, generatePassword(), generatePassword()]) {
    it(`special characters survive uri, jdbc-uri and pgpass: ${JSON.stringify(password)}`, () => {
      const info = { host: 'srv-1.postgres.database.azure.com', dbname: 'my_db', username: 'app_user', password, ca: CA };
      const d = connectionSecretData(info);

      // As node-postgres reads DATABASE_URL-style strings (pg-connection-string, libpq's URI rules).
      type Parsed = { user: string; password: string; host: string; port: number; database: string; ssl: unknown };
      const u = new Client({ connectionString: d.uri }) as unknown as Parsed;
      assert.equal(u.password, password);
      assert.equal(u.user, 'app_user');
      assert.equal(u.host, info.host);
      assert.equal(u.port, 5432);
      assert.equal(u.database, 'my_db');
      assert.ok(u.ssl, 'sslmode=verify-full turns TLS on');
      assert.equal(passwordFromUri(d.uri), password);
      const whatwg = new URL(d.uri);
      assert.equal(decodeURIComponent(whatwg.password), password);

      const j = parseJdbc(d['jdbc-uri']);
      assert.equal(j.params.password, password);
      assert.equal(j.params.user, 'app_user');
      assert.equal(j.params.sslmode, 'verify-full');
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

describe('passwordlessSecretData', () => {
  const info = { host: 'srv-1.postgres.database.azure.com', dbname: 'orders', username: 'orders_app', ca: CA, tokenScope: POSTGRES_ENTRA_SCOPE, clientId: '11111111-2222-3333-4444-555555555555' };

  it('has the passwordless keys, and no password anywhere', () => {
    const d = passwordlessSecretData(info);
    assert.deepEqual(Object.keys(d).sort(), [...PASSWORDLESS_SECRET_KEYS].sort());
    assert.equal(d.password, undefined);
    assert.equal(d.pgpass, undefined);
    assert.equal(d.uri, 'postgresql://orders_app@srv-1.postgres.database.azure.com:5432/orders?sslmode=verify-full');
    assert.equal(passwordFromUri(d.uri), undefined);
    const j = parseJdbc(d['jdbc-uri']);
    assert.deepEqual(j.params, { user: 'orders_app', authenticationPluginClassName: JDBC_ENTRA_PLUGIN, sslmode: 'verify-full' });
    assert.equal(d['token-scope'], 'https://ossrdbms-aad.database.windows.net/.default');
    assert.equal(d['client-id'], info.clientId);
    assert.equal(d[CA_KEY], CA);
  });

  it('node-postgres reads the uri as user, host and database without a password', () => {
    const u = new Client({ connectionString: passwordlessSecretData(info).uri }) as unknown as { user: string; password: unknown; database: string };
    assert.equal(u.user, 'orders_app');
    assert.equal(u.database, 'orders');
    assert.ok(!u.password, 'no password in the uri');
  });

  it('an administrator Secret with password sign-in off names no user: each Entra administrator signs in as itself', () => {
    const d = passwordlessSecretData({ host: 'h', dbname: 'postgres', ca: CA, tokenScope: POSTGRES_ENTRA_SCOPE });
    assert.equal(d.username, undefined);
    assert.equal(d['client-id'], undefined);
    assert.equal(d.uri, 'postgresql://h:5432/postgres?sslmode=verify-full');
    assert.equal(d['jdbc-uri'], `jdbc:postgresql://h:5432/postgres?authenticationPluginClassName=${JDBC_ENTRA_PLUGIN}&sslmode=verify-full`);
  });
});

describe('ca.crt and the token scope', () => {
  it('by default, the roots Azure\'s PostgreSQL servers chain to: DigiCert Global Root G2, Microsoft RSA Root 2017, DigiCert Global Root CA', () => {
    const subjects = certificatesOf(secretCaBundle({})).map((c) => /CN=([^\n]+)/.exec(c.subject)?.[1]);
    assert.deepEqual(subjects, ['DigiCert Global Root G2', 'Microsoft RSA Root Certificate Authority 2017', 'DigiCert Global Root CA']);
    for (const cert of certificatesOf(secretCaBundle({}))) {
      assert.equal(cert.issuer, cert.subject, 'a self-signed root');
      assert.ok(cert.ca);
      assert.ok(new Date(cert.validTo) > new Date('2030-01-01'), `${cert.subject} valid past 2030`);
    }
  });

  it('the reconciler\'s --postgres-ca-file replaces it', () => {
    assert.equal(secretCaBundle({ postgresCa: CA }), CA);
  });

  it('the token scope is Azure\'s for PostgreSQL unless configured', () => {
    assert.equal(postgresTokenScope({}), 'https://ossrdbms-aad.database.windows.net/.default');
    assert.equal(postgresTokenScope({ postgresTokenScope: 'https://ossrdbms-aad.database.usgovcloudapi.net/.default' }), 'https://ossrdbms-aad.database.usgovcloudapi.net/.default');
  });
});
