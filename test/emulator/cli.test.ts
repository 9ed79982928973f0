/**
 * The CLI (what `npx projen emulator` runs): flags, printed endpoints and exports, SIGTERM cleanup, identities and
 * CA kept across restarts with the same data directory.
 */
/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import * as assert from 'node:assert/strict';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import * as tls from 'node:tls';
import { ClientSecretCredential } from '@azure/identity';

const CLI = join(__dirname, 'cli.ts');

interface Running {
  child: ChildProcess;
  stdout: () => string;
  env: Record<string, string>;
}

function startCli(args: string[]): Promise<Running> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`CLI did not start: ${err}`)), 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`CLI exited ${code}: ${err}`));
    });
    child.stdout!.on('data', () => {
      if (!out.includes('Stop with Ctrl-C')) return;
      clearTimeout(timer);
      const env: Record<string, string> = {};
      for (const m of out.matchAll(/^export (\w+)=(.*)$/gm)) env[m[1]] = m[2];
      resolve({ child, stdout: () => out, env });
    });
  });
}

function stopCli(r: Running): Promise<number | null> {
  return new Promise((resolve) => {
    r.child.once('exit', (code) => resolve(code));
    r.child.kill('SIGTERM');
  });
}

describe('the CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'emulator-cli-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('--help documents every flag', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, '--help'], { encoding: 'utf8' });
    assert.equal(r.status, 0);
    for (const flag of ['--host', '--port', '--data-dir', '--tenant', '--subscription', '--client-id', '--client-secret', '--provisioning-delay',
      '--poll-interval', '--no-throttling', '--throttle-reads', '--throttle-writes', '--throttle-deletes', '--error-rate', '--error-statuses', '--latency',
      '--drop-rate', '--operation-failure-rate', '--operation-failure-code', '--operation-failure-message', '--fault-match', '--postgres-bin-dir',
      '--retry-after', '--no-enforce-firewall', '--drop-response-rate', '--operation-cancel-rate', '--slow-operation-rate', '--slow-operation-delay',
      '--server-address-base', '--env-file', '--verbose', '--help']) {
      assert.ok(r.stdout.includes(`  ${flag}`), `--help lists ${flag}`);
    }
    const bad = spawnSync(process.execPath, ['--import', 'tsx', CLI, '--provisioning-delay', 'soon'], { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /--provisioning-delay: expected a duration/);
    const badProfile = spawnSync(process.execPath, ['--import', 'tsx', CLI, '--retry-after', 'slow'], { encoding: 'utf8' });
    assert.equal(badProfile.status, 1);
    assert.match(badProfile.stderr, /--retry-after: expected fast or azure, got 'slow'/);
  });

  test('prints the endpoints and exports; serves them; stops on SIGTERM; keeps identities and CA across restarts', async () => {
    const dataDir = join(dir, 'data');
    const first = await startCli(['--port', '0', '--data-dir', dataDir, '--provisioning-delay', '100ms', '--subscription', '33333333-3333-4333-8333-333333333333']);
    const e = first.env;
    assert.deepEqual(Object.keys(e), ['AZURE_RESOURCE_MANAGER_ENDPOINT', 'AZURE_AUTHORITY_HOST', 'AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET',
      'AZURE_SUBSCRIPTION_ID', 'NODE_EXTRA_CA_CERTS']);
    assert.equal(e.AZURE_SUBSCRIPTION_ID, '33333333-3333-4333-8333-333333333333');
    assert.match(e.AZURE_RESOURCE_MANAGER_ENDPOINT, /^https:\/\/127\.0\.0\.1:\d+$/);
    // The secret is not printed: the export reads it from a file only root can read.
    assert.match(e.AZURE_CLIENT_SECRET, /^"\$\(cat .*client-secret\)"$/);
    const secretFile = join(dataDir, 'client-secret');
    assert.equal(statSync(secretFile).mode % 0o1000, 0o600);
    const secret = readFileSync(secretFile, 'utf8');
    assert.ok(!first.stdout().includes(secret));
    const envFile = readFileSync(join(dataDir, 'emulator.env'), 'utf8');
    assert.ok(envFile.includes(`export AZURE_CLIENT_SECRET=${secret}`));

    const ca = readFileSync(e.NODE_EXTRA_CA_CERTS, 'utf8');
    tls.setDefaultCACertificates([...tls.getCACertificates('default'), ca]);
    const firstInfo = await (await fetch(`${e.AZURE_RESOURCE_MANAGER_ENDPOINT}/admin/info`)).json() as Record<string, any>;
    assert.equal(firstInfo.enforceFirewall, true, 'firewall rules are enforced by default, as on Azure');
    const cred = new ClientSecretCredential(e.AZURE_TENANT_ID, e.AZURE_CLIENT_ID, secret, {
      authorityHost: e.AZURE_AUTHORITY_HOST, disableInstanceDiscovery: true,
    });
    const token = await cred.getToken(`${e.AZURE_RESOURCE_MANAGER_ENDPOINT}/.default`);
    const res = await fetch(`${e.AZURE_RESOURCE_MANAGER_ENDPOINT}/subscriptions/${e.AZURE_SUBSCRIPTION_ID}/resourcegroups?api-version=2021-04-01`, {
      headers: { authorization: `Bearer ${token.token}` },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { value: [] });

    const clash = spawnSync(process.execPath, ['--import', 'tsx', CLI, '--port', '0', '--data-dir', dataDir], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(clash.status, 1);
    assert.match(clash.stderr, /another emulator \(pid \d+\) uses the data directory/);

    assert.equal(await stopCli(first), 0);
    assert.ok(!existsSync(join(dataDir, 'servers')));

    const second = await startCli(['--port', '0', '--data-dir', dataDir, '--retry-after', 'azure', '--no-enforce-firewall', '--operation-cancel-rate', '0.5',
      '--slow-operation-rate', '0.25', '--slow-operation-delay', '2s', '--drop-response-rate', '0.1']);
    try {
      const info = await (await fetch(`${second.env.AZURE_RESOURCE_MANAGER_ENDPOINT}/admin/info`)).json() as Record<string, any>;
      assert.equal(info.retryAfterProfile, 'azure');
      assert.equal(info.enforceFirewall, false);
      assert.deepEqual(info.faults.rules.map((r: any) => [r.kind, r.rate, r.ms, r.phase]),
        [['drop', 0.1, undefined, 'response'], ['cancelOperation', 0.5, undefined, undefined], ['slowOperation', 0.25, 2000, undefined]]);
      for (const k of ['AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_SUBSCRIPTION_ID', 'NODE_EXTRA_CA_CERTS']) assert.equal(second.env[k], e[k], k);
      assert.equal(readFileSync(second.env.NODE_EXTRA_CA_CERTS, 'utf8'), ca);
      assert.equal(readFileSync(secretFile, 'utf8'), secret);
    } finally {
      assert.equal(await stopCli(second), 0);
    }
  });
});
