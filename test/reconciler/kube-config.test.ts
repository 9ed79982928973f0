/**
 * The kubeconfig loader (src/reconciler/kube/kubeconfig.ts) as kubectl reads a kubeconfig: the current context's
 * cluster, user and namespace; files named relative to the kubeconfig; a KUBECONFIG list merged first-wins; rotating
 * token files; exec credential plugins; the in-cluster ServiceAccount; clear errors for what it does not support.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { loadKubeConfig } from '../../src/reconciler/kube/client';
import { inClusterKubeConfig } from '../../src/reconciler/kube/kubeconfig';

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'kubeconfig-test-'));
}

function write(dir: string, name: string, text: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text, { mode: 0o700 });
  return f;
}

async function applied(kc: ReturnType<typeof loadKubeConfig>): Promise<https.RequestOptions & { headers: Record<string, string> }> {
  const o: https.RequestOptions = { headers: {} };
  await kc.apply(o);
  return o as https.RequestOptions & { headers: Record<string, string> };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('kubeconfig loader', () => {
  it('uses the current context: its cluster, user, namespace; inline data and files relative to the kubeconfig', async () => {
    const dir = tmpdir();
    write(dir, 'ca.pem', 'CA FROM FILE');
    write(dir, 'client.key', 'KEY FROM FILE');
    const file = write(dir, 'config', `
apiVersion: v1
kind: Config
current-context: b
clusters:
- name: one
  cluster: { server: 'https://one.example:6443', certificate-authority-data: ${b64('CA ONE')} }
- name: two
  cluster:
    server: https://two.example:443
    certificate-authority: ca.pem
    tls-server-name: api.two
contexts:
- name: a
  context: { cluster: one, user: u1 }
- name: b
  context: { cluster: two, user: u2, namespace: team-b }
users:
- name: u1
  user: { token: token-one }
- name: u2
  user:
    client-certificate-data: ${b64('CERT TWO')}
    client-key: client.key
`);
    const kc = loadKubeConfig(file);
    assert.equal(kc.server, 'https://two.example:443');
    assert.equal(kc.namespace, 'team-b');
    const o = await applied(kc);
    assert.equal(String(o.ca), 'CA FROM FILE');
    assert.equal(String(o.cert), 'CERT TWO');
    assert.equal(String(o.key), 'KEY FROM FILE');
    assert.equal(o.servername, 'api.two');
    assert.equal(o.headers.Authorization, undefined);
  });

  it('merges a KUBECONFIG list as kubectl does: the first file that sets a name or the current context wins', async () => {
    const dir = tmpdir();
    const first = write(dir, 'first', `
current-context: ctx
contexts: [{ name: ctx, context: { cluster: c, user: u } }]
users: [{ name: u, user: { token: from-first } }]
`);
    const second = write(dir, 'second', `
current-context: other
clusters: [{ name: c, cluster: { server: 'https://second.example' } }]
contexts: [{ name: other, context: { cluster: c, user: u } }]
users: [{ name: u, user: { token: from-second } }]
`);
    const kc = loadKubeConfig([first, second].join(path.delimiter));
    assert.equal(kc.server, 'https://second.example');
    assert.equal((await applied(kc)).headers.Authorization, 'Bearer from-first');
  });

  it('runs an exec credential plugin with its env and KUBERNETES_EXEC_INFO, and reuses its token until it expires', async () => {
    const dir = tmpdir();
    const calls = path.join(dir, 'calls');
    const expires = new Date(Date.now() + 3600_000).toISOString();
    const plugin = write(dir, 'plugin.sh', `#!/bin/sh
echo "$PLUGIN_GREETING $KUBERNETES_EXEC_INFO" >> ${calls}
echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"exec-token","expirationTimestamp":"${expires}"}}'
`);
    const file = write(dir, 'config', `
current-context: x
clusters: [{ name: c, cluster: { server: 'https://exec.example' } }]
contexts: [{ name: x, context: { cluster: c, user: u } }]
users:
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ${plugin}
      env: [{ name: PLUGIN_GREETING, value: hello }]
`);
    const kc = loadKubeConfig(file);
    assert.equal((await applied(kc)).headers.Authorization, 'Bearer exec-token');
    assert.equal((await applied(kc)).headers.Authorization, 'Bearer exec-token');
    const lines = fs.readFileSync(calls, 'utf8').trim().split('\n');
    assert.equal(lines.length, 1, 'the plugin runs once while its token is valid');
    assert.match(lines[0], /^hello \{"apiVersion":"client.authentication.k8s.io\/v1","kind":"ExecCredential"/);
  });

  it('fails a failing exec plugin with its command and stderr', async () => {
    const dir = tmpdir();
    const plugin = write(dir, 'fail.sh', '#!/bin/sh\necho "not logged in" >&2\nexit 3\n');
    const file = write(dir, 'config', `
current-context: x
clusters: [{ name: c, cluster: { server: 'https://exec.example' } }]
contexts: [{ name: x, context: { cluster: c, user: u } }]
users: [{ name: u, user: { exec: { command: '${plugin}' } } }]
`);
    await assert.rejects(applied(loadKubeConfig(file)), /fail\.sh failed \(exit 3\): not logged in/);
  });

  it('refuses what it does not support, naming it: proxy-url, auth-provider, no current context', () => {
    const dir = tmpdir();
    const proxy = write(dir, 'proxy', `
current-context: x
clusters: [{ name: c, cluster: { server: 'https://p.example', proxy-url: 'http://proxy:3128' } }]
contexts: [{ name: x, context: { cluster: c } }]
`);
    assert.throws(() => loadKubeConfig(proxy), /proxy-url/);
    const provider = write(dir, 'provider', `
current-context: x
clusters: [{ name: c, cluster: { server: 'https://p.example' } }]
contexts: [{ name: x, context: { cluster: c, user: u } }]
users: [{ name: u, user: { auth-provider: { name: oidc } } }]
`);
    assert.throws(() => loadKubeConfig(provider), /auth-provider.*exec plugin/);
    const none = write(dir, 'none', 'clusters: []\n');
    assert.throws(() => loadKubeConfig(none), /no current-context/);
  });

  it('in a cluster: the service address (IPv6 in brackets), the ServiceAccount CA, namespace and its token file', async () => {
    const dir = tmpdir();
    write(dir, 'ca.crt', 'SA CA');
    write(dir, 'namespace', 'cdk8s-azure-system\n');
    write(dir, 'token', 'sa-token-1\n');
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
    process.env.KUBERNETES_SERVICE_HOST = 'fd00::1';
    process.env.KUBERNETES_SERVICE_PORT = '443';
    try {
      const kc = inClusterKubeConfig(dir);
      assert.equal(kc.server, 'https://[fd00::1]:443');
      assert.equal(kc.namespace, 'cdk8s-azure-system');
      const o = await applied(kc);
      assert.equal(String(o.ca), 'SA CA');
      assert.equal(o.headers.Authorization, 'Bearer sa-token-1');
    } finally {
      process.env.KUBERNETES_SERVICE_HOST = saved.host;
      process.env.KUBERNETES_SERVICE_PORT = saved.port;
      if (saved.host === undefined) delete process.env.KUBERNETES_SERVICE_HOST;
      if (saved.port === undefined) delete process.env.KUBERNETES_SERVICE_PORT;
    }
  });
});
