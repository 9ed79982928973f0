import { Testing } from 'cdk8s';
import { crdValidators, newChart, schemaErrors } from './support';
import { AzurePostgres } from '../../src';

const base = { resourceGroup: { name: 'rg' }, location: 'westeurope' };

function serversOf(chart: any): any[] {
  return Testing.synth(chart).filter((m: any) => m.kind === 'PostgresServer');
}

describe('read replicas', () => {
  test('readReplicaOf names the source and takes its administrator; promote reaches the spec; the CRD accepts it', () => {
    const { chart } = newChart('shop');
    const primary = new AzurePostgres(chart, 'db', { ...base, administratorLogin: 'shopadmin' });
    const replica = new AzurePostgres(chart, 'reports', { ...base, location: 'northeurope', readReplicaOf: primary, promote: false });
    expect(replica.administratorLogin).toBe('shopadmin');
    expect(replica.readReplicaOf).toBe(primary);
    const spec = serversOf(chart).find((s: any) => s.metadata.name === replica.name).spec;
    expect(spec.replica).toEqual({ sourceServerRef: { name: primary.name }, promote: false });
    expect(spec.location).toBe('northeurope');
    for (const m of serversOf(chart)) expect(schemaErrors(crdValidators(), m)).toEqual([]);
  });

  test('a role gives connection env for a replica: the same credentials, the replica\'s host, no DATABASE_URL', () => {
    const { chart } = newChart('shop');
    const primary = new AzurePostgres(chart, 'db', base);
    const replica = new AzurePostgres(chart, 'reports', { ...base, readReplicaOf: primary });
    const role = primary.addRole('reporting', { database: primary.addDatabase('shop') });
    const env = role.replicaEnv(replica);
    expect(Object.keys(env).sort()).toEqual(['PGDATABASE', 'PGHOST', 'PGPASSWORD', 'PGPORT', 'PGSSLMODE', 'PGUSER']);
    expect(env.PGHOST.valueFrom?.secretKeyRef).toEqual({ name: replica.connectionSecretName, key: 'host' });
    expect(env.PGPASSWORD.valueFrom?.secretKeyRef).toEqual({ name: role.secretName, key: 'password' });
  });

  test('replicaEnv of a server that is not a replica of the role\'s fails with the fix', () => {
    const { chart } = newChart('shop');
    const primary = new AzurePostgres(chart, 'db', base);
    const other = new AzurePostgres(chart, 'other', base);
    const role = primary.addRole('reporting', { database: primary.addDatabase('shop') });
    expect(() => role.replicaEnv(other)).toThrow(/replica = "test\/other": is not a read replica of this role's server \(test\/db\)/);
  });

  test('a replica with another administrator, promote without a replica, and a source in another namespace fail synth', () => {
    const { chart } = newChart('shop');
    const primary = new AzurePostgres(chart, 'db', base);
    expect(() => new AzurePostgres(chart, 'r1', { ...base, readReplicaOf: primary, administratorLogin: 'someone' }))
      .toThrow(/Invalid AzurePostgres properties at 'test\/r1':\n {2}- administratorLogin = "someone": a read replica has its source's administrator: remove it, or set pgadmin/);
    expect(() => new AzurePostgres(chart, 'r2', { ...base, promote: true })).toThrow(/promote = true: applies only to a read replica/);
    expect(() => new AzurePostgres(chart, 'r3', { ...base, readReplicaOf: primary, metadata: { namespace: 'other' } }))
      .toThrow(/readReplicaOf = "test\/db": must be in this server's namespace \(shop\)/);
  });
});

describe('point-in-time restore', () => {
  test('restoreOf and restorePointInTime reach the spec', () => {
    const { chart } = newChart('shop');
    const source = new AzurePostgres(chart, 'db', base);
    const time = new Date(Date.now() - 3600_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const restored = new AzurePostgres(chart, 'yesterday', { ...base, restoreOf: source, restorePointInTime: time });
    const spec = serversOf(chart).find((s: any) => s.metadata.name === restored.name).spec;
    expect(spec.restore).toEqual({ sourceServerRef: { name: source.name }, pointInTimeUTC: time });
    expect(spec.writeConnectionSecretToRef.name).not.toBe(source.connectionSecretName);
    for (const m of serversOf(chart)) expect(schemaErrors(crdValidators(), m)).toEqual([]);
  });

  test('a time before the source\'s retention, in the future, or not ISO 8601 fails synth with the fix', () => {
    const { chart } = newChart('shop');
    const source = new AzurePostgres(chart, 'db', { ...base, backup: { retentionDays: 7 } });
    const old = new Date(Date.now() - 8 * 86400_000).toISOString();
    expect(() => new AzurePostgres(chart, 'r1', { ...base, restoreOf: source, restorePointInTime: old }))
      .toThrow(/restorePointInTime = ".*": is before the source's earliest restore point .* \(its backup.retentionDays is 7\); choose a later time/);
    expect(() => new AzurePostgres(chart, 'r2', { ...base, restoreOf: source, restorePointInTime: new Date(Date.now() + 86400_000).toISOString() }))
      .toThrow(/is in the future/);
    expect(() => new AzurePostgres(chart, 'r3', { ...base, restoreOf: source, restorePointInTime: 'yesterday' }))
      .toThrow(/restorePointInTime = "yesterday": must be a UTC time in ISO 8601/);
    expect(() => new AzurePostgres(chart, 'r4', { ...base, restoreOf: source })).toThrow(/restorePointInTime = undefined/);
  });

  test('a replica and a restore at once fail synth', () => {
    const { chart } = newChart('shop');
    const source = new AzurePostgres(chart, 'db', base);
    expect(() => new AzurePostgres(chart, 'both', { ...base, readReplicaOf: source, restoreOf: source, restorePointInTime: new Date().toISOString() }))
      .toThrow(/restoreOf = "restore and replica": a server is either a read replica or a restore; remove one of them/);
  });
});
