import { Chart, Testing } from 'cdk8s';
import { crdValidators, newChart, schemaErrors } from './support';
import { AzurePostgres, ExtensionRemovalPolicy, PostgresVersion } from '../../src';
import { extensionAllowList, missingFromAllowList, parametersWithExtensions, supportedExtensions } from '../../src/api';

function server(chart: Chart, version?: PostgresVersion) {
  return new AzurePostgres(chart, 'db', { resourceGroup: { name: 'rg' }, location: 'westeurope', version });
}

function databasesOf(chart: Chart): any[] {
  return Testing.synth(chart).filter((m: any) => m.kind === 'PostgresDatabase');
}

describe('database extensions', () => {
  test('extensions and the removal policy reach the spec, and the CRD accepts them', () => {
    const { chart } = newChart('shop');
    server(chart).addDatabase('search', { extensions: ['vector', 'pg_trgm', 'citext'], extensionRemovalPolicy: ExtensionRemovalPolicy.DROP });
    const [db] = databasesOf(chart);
    expect(db.spec.extensions).toEqual(['vector', 'pg_trgm', 'citext']);
    expect(db.spec.extensionRemovalPolicy).toBe('Drop');
    expect(schemaErrors(crdValidators(), db)).toEqual([]);
  });

  test('no extensions: no field; the removal policy is stated (Retain)', () => {
    const { chart } = newChart('shop');
    server(chart).addDatabase('plain');
    const [db] = databasesOf(chart);
    expect(db.spec.extensions).toBeUndefined();
    expect(db.spec.extensionRemovalPolicy).toBe('Retain');
  });

  test('an extension Azure does not support fails synth with path, field, value and fix', () => {
    const { chart } = newChart('shop');
    expect(() => server(chart).addDatabase('search', { extensions: ['pg_trgm', 'pg_bogus'] })).toThrow(
      /Invalid AzurePostgresDatabase properties at 'test\/db\/Database-search':\n {2}- extensions\[1\] = "pg_bogus": is not an extension Azure supports on flexible servers; use one of .*pg_trgm/);
  });

  test('an extension Azure does not offer on the server\'s major version fails synth, naming the versions that have it', () => {
    const { chart } = newChart('shop');
    expect(() => server(chart, PostgresVersion.V17).addDatabase('metrics', { extensions: ['timescaledb'] })).toThrow(
      /extensions\[0\] = "timescaledb": Azure does not offer timescaledb on PostgreSQL 17 \(it does on 14, 15, 16\)/);
    const { chart: chart16 } = newChart('shop');
    expect(() => server(chart16, PostgresVersion.V16).addDatabase('metrics', { extensions: ['timescaledb'] })).not.toThrow();
  });

  test('an extension listed twice fails synth', () => {
    const { chart } = newChart('shop');
    expect(() => server(chart).addDatabase('search', { extensions: ['citext', 'citext'] })).toThrow(/extensions\[1\] = "citext": is listed twice/);
  });

  test('the CRD refuses an unknown extension and a repeated one', () => {
    const { chart } = newChart('shop');
    server(chart).addDatabase('search', { extensions: ['citext'] });
    const [db] = databasesOf(chart);
    expect(schemaErrors(crdValidators(), { ...db, spec: { ...db.spec, extensions: ['pg_bogus'] } }).join('\n')).toMatch(/extensions/);
  });
});

describe('the azure.extensions allow-list', () => {
  test('is the user\'s list first, then what databases ask for, each once', () => {
    expect(extensionAllowList('pgcrypto, citext', ['vector', 'citext', 'pg_trgm', 'vector'])).toBe('pgcrypto,citext,pg_trgm,vector');
    expect(extensionAllowList(undefined, ['vector'])).toBe('vector');
    expect(extensionAllowList(undefined, [])).toBeUndefined();
    expect(extensionAllowList('', [])).toBe('');
  });

  test('server parameters get the union; other parameters are kept', () => {
    expect(parametersWithExtensions({ work_mem: '8192' }, ['citext'])).toEqual({ 'work_mem': '8192', 'azure.extensions': 'citext' });
    expect(parametersWithExtensions({ work_mem: '8192' }, [])).toEqual({ work_mem: '8192' });
  });

  test('missing names are found in any letter case and spacing', () => {
    expect(missingFromAllowList('PG_TRGM, citext', ['pg_trgm', 'citext', 'vector'])).toEqual(['vector']);
  });

  test('the catalog per version leaves out what Azure does not offer there', () => {
    expect(supportedExtensions('16')).toContain('timescaledb');
    expect(supportedExtensions('17')).not.toContain('timescaledb');
    expect(supportedExtensions('17')).toEqual(expect.arrayContaining(['vector', 'pg_trgm', 'citext', 'ip4r', 'pg_partman']));
  });
});

describe('stopped', () => {
  test('stopped: true reaches the spec; unset, the default (false) is stated', () => {
    const { chart } = newChart('shop');
    new AzurePostgres(chart, 'dev', { resourceGroup: { name: 'rg' }, location: 'westeurope', stopped: true });
    new AzurePostgres(chart, 'prod', { resourceGroup: { name: 'rg' }, location: 'westeurope' });
    const [dev, prod] = Testing.synth(chart).filter((m: any) => m.kind === 'PostgresServer');
    expect(dev.spec.stopped).toBe(true);
    expect(prod.spec.stopped).toBe(false);
    expect(schemaErrors(crdValidators(), dev)).toEqual([]);
  });
});
