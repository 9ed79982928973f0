import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatNamespaceScopes } from '../../src/api';
import { ConfigError, FLAGS, SA_NAMESPACE_FILE, helpText, parseConfig, parseDuration } from '../../src/reconciler/config';
import { parseBindAddress } from '../../src/reconciler/health';

const SUB = '11111111-2222-3333-4444-555555555555';
const noFiles = { exists: () => false, readFile: (p: string): string => { throw Object.assign(new Error(`ENOENT ${p}`), { code: 'ENOENT' }); } };

function parse(argv: string[], env: Record<string, string> = {}, deps = noFiles) {
  const r = parseConfig(argv, env, deps);
  if (r.help) throw new Error('unexpected help');
  return r.config;
}

function fails(argv: string[], env: Record<string, string>, pattern: RegExp) {
  assert.throws(() => parseConfig(argv, env, noFiles), (err: unknown) => {
    assert.ok(err instanceof ConfigError, `not a ConfigError: ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('config', () => {
  it('has the documented defaults', () => {
    const c = parse([`--subscription-id=${SUB}`]);
    assert.equal(c.subscriptionId, SUB);
    assert.equal(c.kubeconfig, undefined);
    assert.equal(c.armEndpoint, 'https://management.azure.com');
    assert.equal(c.armScope, 'https://management.azure.com/.default');
    assert.equal(c.authorityHost, 'https://login.microsoftonline.com');
    assert.equal(c.postgresCa, undefined);
    assert.equal(c.namespaces, undefined);
    assert.equal(c.workers, 4);
    assert.equal(c.resyncPeriodMs, 10 * 60_000);
    assert.equal(c.clusterId, undefined, 'read from the kube-system namespace at start');
    assert.deepEqual(c.adoptionNamespaces, [], 'adoption is off by default');
    assert.equal(c.leaderElect, false);
    assert.equal(c.leaderElectionId, 'cdk8s-azure-reconciler');
    assert.deepEqual(c.metricsBindAddress, { host: undefined, port: 8080 });
    assert.deepEqual(c.healthProbeBindAddress, { host: undefined, port: 8081 });
    assert.equal(c.logLevel, 'info');
    assert.equal(c.shutdownGraceMs, 25_000);
  });

  it('reads environment variables, and a flag wins over its variable', () => {
    const env = {
      AZURE_SUBSCRIPTION_ID: SUB,
      AZURE_RESOURCE_MANAGER_ENDPOINT: 'https://127.0.0.1:8443/',
      AZURE_AUTHORITY_HOST: 'https://127.0.0.1:8443',
      WATCH_NAMESPACE: 'team-a',
      WORKERS: '8',
      RESYNC_PERIOD: '30m',
      LEADER_ELECT: 'true',
      POD_NAMESPACE: 'system',
      LOG_LEVEL: 'debug',
      SHUTDOWN_GRACE_PERIOD: '1m30s',
      METRICS_BIND_ADDRESS: '0',
    };
    const c = parse([], env);
    assert.equal(c.armEndpoint, 'https://127.0.0.1:8443', 'trailing slash dropped');
    assert.equal(c.armScope, 'https://127.0.0.1:8443/.default', 'the scope follows the endpoint');
    assert.deepEqual(c.namespaces, ['team-a']);
    assert.equal(c.workers, 8);
    assert.equal(c.resyncPeriodMs, 30 * 60_000);
    assert.equal(c.leaderElect, true);
    assert.equal(c.leaderElectionNamespace, 'system');
    assert.equal(c.logLevel, 'debug');
    assert.equal(c.shutdownGraceMs, 90_000);
    assert.equal(c.metricsBindAddress, undefined, '0 disables');

    const f = parse(['--workers', '2', '--namespace=team-b', '--leader-elect=false', '--arm-scope', 'api://x/.default'], env);
    assert.equal(f.workers, 2);
    assert.deepEqual(f.namespaces, ['team-b']);
    assert.equal(f.leaderElect, false);
    assert.equal(f.armScope, 'api://x/.default');
  });

  it('namespace scopes: JSON of subscription, resource groups and identity per namespace, unset for no restriction', () => {
    const A = 'aaaaaaaa-0000-0000-0000-000000000001';
    const CLIENT = 'cccccccc-0000-0000-0000-000000000001';
    assert.equal(parse([`--subscription-id=${SUB}`]).namespaceScopes, undefined, 'no restriction by default');
    const scopes = { shop: { subscriptionId: A, resourceGroups: ['shop-rg', 'Shop-*'], clientId: CLIENT }, audit: { resourceGroups: [] } };
    const withToken = { AZURE_SUBSCRIPTION_ID: SUB, AZURE_FEDERATED_TOKEN_FILE: '/var/run/secrets/azure/tokens/azure-identity-token' };
    assert.deepEqual(parse([`--namespace-scopes=${formatNamespaceScopes(scopes)}`], withToken).namespaceScopes, scopes,
      'what the install renders reads back the same');
    assert.deepEqual(parse([], { ...withToken, NAMESPACE_SCOPES: '{"all":{"resourceGroups":["*"]}}' }).namespaceScopes, { all: { resourceGroups: ['*'] } });
    assert.deepEqual(parse(['--namespace-scopes={"a":{"resourceGroups":["x"]}}'], { ...withToken, NAMESPACE_SCOPES: '{"b":{"resourceGroups":["y"]}}' }).namespaceScopes,
      { a: { resourceGroups: ['x'] } }, 'the flag wins');
    const bad = (value: string, why: RegExp) => fails([`--subscription-id=${SUB}`, `--namespace-scopes=${value}`], withToken, why);
    bad('shop=rg', /invalid --namespace-scopes: "shop=rg": must be JSON .*; e\.g\. --namespace-scopes='\{"shop"/);
    bad('{}', /must bind at least one namespace/);
    bad('{"Shop":{"resourceGroups":["rg"]}}', /Shop = "Shop": the key must be a Kubernetes namespace name/);
    bad('{"shop":{"resourceGroups":["rg."]}}', /shop\.resourceGroups\[0\] = "rg\.": a resource-group name/);
    bad('{"shop":{"resourceGroups":["a*b"]}}', /or a prefix of one followed by \*/);
    bad('{"shop":{"resourceGroups":"rg"}}', /shop\.resourceGroups = "rg": must be a list/);
    bad('{"shop":{"resourceGroups":[],"subscriptionId":"nope"}}', /shop\.subscriptionId = "nope": a GUID/);
    bad(`{"shop":{"resourceGroups":[],"tenantId":"${A}"}}`, /shop\.tenantId = .*: needs clientId/);
    bad('{"shop":{"resourceGroup":["rg"]}}', /shop\.resourceGroup = \["rg"\]: is not a field of a namespace scope; use subscriptionId, resourceGroups, clientId, tenantId, networkScopes/);
    bad('{"shop":{"resourceGroups":[],"networkScopes":["hub-net"]}}', /shop\.networkScopes\[0\] = "hub-net": an Azure scope as a resource ID: \/subscriptions\/<guid>/);
    bad(`{"shop":{"resourceGroups":[],"networkScopes":"/subscriptions/${A}"}}`, /shop\.networkScopes = .*: must be a list of Azure scopes/);
    const hub = { shop: { resourceGroups: ['shop-rg'], networkScopes: [`/subscriptions/${A}`, `/subscriptions/${A}/resourceGroups/hub-net/providers/Microsoft.Network/privateDnsZones/z.postgres.database.azure.com`] } };
    assert.deepEqual(parse([`--namespace-scopes=${formatNamespaceScopes(hub)}`], withToken).namespaceScopes, hub, 'a subscription, or a resource, as network scopes');
    fails([], { AZURE_SUBSCRIPTION_ID: SUB, NAMESPACE_SCOPES: `{"shop":{"resourceGroups":["rg"],"clientId":"${CLIENT}"}}` },
      /--namespace-scopes \(from env NAMESPACE_SCOPES\) gives namespaces their own Azure identity .* AZURE_FEDERATED_TOKEN_FILE is not set/);
  });

  it('cluster identity and adoption namespaces', () => {
    const c = parse([`--subscription-id=${SUB}`, '--cluster-id=prod-1', '--adoption-namespaces', 'team-a, team-b']);
    assert.equal(c.clusterId, 'prod-1');
    assert.deepEqual(c.adoptionNamespaces, ['team-a', 'team-b']);
    assert.deepEqual(parse([], { AZURE_SUBSCRIPTION_ID: SUB, ADOPTION_NAMESPACES: '*', CLUSTER_ID: 'x' }).adoptionNamespaces, ['*']);
    fails([`--subscription-id=${SUB}`, '--adoption-namespaces=Team_A'], {}, /--adoption-namespaces: "Team_A" is not a namespace name/);
    fails([`--subscription-id=${SUB}`, '--cluster-id=a b'], {}, /--cluster-id: must be 1-128 letters/);
  });

  it('takes the Lease namespace from the ServiceAccount file when POD_NAMESPACE is unset', () => {
    const deps = { exists: (p: string) => p === SA_NAMESPACE_FILE, readFile: () => 'from-sa\n' };
    const c = parseConfig(['--leader-elect', `--subscription-id=${SUB}`], {}, deps);
    assert.ok(!c.help && c.config.leaderElectionNamespace === 'from-sa');
  });

  it('reads the PostgreSQL CA bundle', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const c = parseConfig([`--subscription-id=${SUB}`, '--postgres-ca-file=/ca.pem'], {}, { exists: () => true, readFile: () => pem });
    assert.ok(!c.help && c.config.postgresCa === pem);
  });

  it('Entra: the PostgreSQL token scope and the reconciler\'s administrator name, with their defaults', () => {
    const c = parse([`--subscription-id=${SUB}`]);
    assert.equal(c.postgresTokenScope, 'https://ossrdbms-aad.database.windows.net/.default');
    assert.equal(c.entraPrincipalName, 'cdk8s-azure-reconciler');
    const gov = parse([`--subscription-id=${SUB}`, '--postgres-token-scope=https://ossrdbms-aad.database.usgovcloudapi.net/.default'], { ENTRA_PRINCIPAL_NAME: 'shop-reconciler' });
    assert.equal(gov.postgresTokenScope, 'https://ossrdbms-aad.database.usgovcloudapi.net/.default');
    assert.equal(gov.entraPrincipalName, 'shop-reconciler');
    fails([`--subscription-id=${SUB}`, '--postgres-token-scope=ossrdbms'], {}, /"ossrdbms" for --postgres-token-scope: must be an https:\/\/ scope/);
    fails([`--subscription-id=${SUB}`, '--entra-principal-name=a"b'], {}, /--entra-principal-name: must be 1-128 characters/);
  });

  it('--help and -h', () => {
    assert.deepEqual(parseConfig(['--help'], {}), { help: true });
    assert.deepEqual(parseConfig(['--workers=x', '-h'], {}), { help: true }, 'help wins even after a bad flag');
    const text = helpText();
    for (const f of FLAGS) {
      assert.ok(text.includes(`--${f.name}`), `help lists --${f.name}`);
      assert.ok(text.includes(`env ${f.env}`), `help lists ${f.env}`);
    }
  });

  it('rejects bad flags naming the flag, the value and the fix', () => {
    const env = { AZURE_SUBSCRIPTION_ID: SUB };
    fails([], {}, /missing --subscription-id \(or env AZURE_SUBSCRIPTION_ID\).*e\.g\. --subscription-id=/);
    fails(['--subscription-id=abc'], {}, /invalid value "abc" for --subscription-id: must be a subscription GUID; e\.g\./);
    fails(['--workers=0'], env, /invalid value "0" for --workers: must be a whole number from 1 to 100; e\.g\. --workers=4/);
    fails(['--workers=two'], env, /"two" for --workers/);
    fails([], { ...env, WORKERS: '1.5' }, /invalid value "1\.5" for --workers \(from env WORKERS\)/);
    fails(['--resync-period=10'], env, /"10" for --resync-period: must be a duration such as 90s/);
    fails(['--resync-period=1s'], env, /at least 10s/);
    fails(['--shutdown-grace-period=soon'], env, /--shutdown-grace-period/);
    fails(['--arm-endpoint=management.azure.com'], env, /"management\.azure\.com" for --arm-endpoint: must be an absolute URL/);
    fails(['--authority-host=ftp://x'], env, /--authority-host: must be an https URL/);
    fails(['--log-level=loud'], env, /"loud" for --log-level: must be one of trace, debug/);
    fails(['--namespace=Team_A'], env, /--namespace: must be a Kubernetes namespace name/);
    fails(['--namespaces=team-a,Team_B'], env, /"team-a,Team_B" for --namespaces: "Team_B" must be a Kubernetes namespace name; e\.g\. --namespaces=team-a,team-b/);
    fails(['--namespaces='], env, /--namespaces: must name at least one namespace \(leave it unset to watch all\)/);
    fails(['--namespaces=a', '--namespace=b'], env, /--namespaces and --namespace are both set; give the namespaces once/);
    fails(['--metrics-bind-address=8080'], env, /"8080" for --metrics-bind-address: .*\[host\]:port/);
    fails(['--metrics-bind-address=:8081'], env, /both port 8081/);
    fails(['--leader-elect'], env, /--leader-elect needs a namespace.*--leader-election-namespace=/);
    fails(['--leader-elect=maybe'], env, /"maybe" for --leader-elect: must be true or false/);
    fails(['--kubeconfig=/nope'], env, /"\/nope" for --kubeconfig: file \/nope does not exist/);
    fails(['--postgres-ca-file=/nope.pem'], env, /"\/nope\.pem" for --postgres-ca-file: cannot read it \(ENOENT\)/);
    fails(['--frobnicate'], env, /unknown flag --frobnicate; run with --help/);
    fails(['--workers'], env, /flag --workers needs a value, e\.g\. --workers=4/);
    fails(['stray'], env, /unexpected argument "stray"/);
  });

  it('watches a list of namespaces (--namespaces, WATCH_NAMESPACES), or one (--namespace, WATCH_NAMESPACE)', () => {
    const base = { AZURE_SUBSCRIPTION_ID: SUB };
    assert.deepEqual(parse(['--namespaces=team-a, team-b,team-a'], base).namespaces, ['team-a', 'team-b'], 'trimmed, duplicates dropped');
    assert.deepEqual(parse([], { ...base, WATCH_NAMESPACES: 'x,y' }).namespaces, ['x', 'y']);
    assert.deepEqual(parse(['--namespaces', 'z'], { ...base, WATCH_NAMESPACES: 'x,y' }).namespaces, ['z'], 'the flag wins');
    assert.deepEqual(parse([], { ...base, WATCH_NAMESPACE: 'solo' }).namespaces, ['solo']);
  });

  it('parses Go-style durations and bind addresses', () => {
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration('0'), 0);
    assert.equal(parseDuration('5'), undefined);
    assert.equal(parseDuration('5x'), undefined);
    assert.equal(parseDuration('m5'), undefined);
    assert.deepEqual(parseBindAddress('127.0.0.1:9090'), { host: '127.0.0.1', port: 9090 });
    assert.deepEqual(parseBindAddress('[::1]:9090'), { host: '::1', port: 9090 });
    assert.deepEqual(parseBindAddress(':0'), { host: undefined, port: 0 });
    assert.equal(parseBindAddress('0'), undefined);
    assert.throws(() => parseBindAddress(':70000'), /out of range/);
  });
});
