/**
 * The constructs' enums and enum-like classes offer exactly the values of src/api (which the CRDs and the reconciler
 * use): a value added to the API shows up in editors, and the constructs offer nothing the API refuses.
 */
import {
  AvailabilityZone,
  ComputeTier,
  DatabaseCharset,
  DeletionPolicy,
  HighAvailabilityMode,
  PostgresVersion,
  RolePrivilege,
  StorageSize,
  StorageTier,
} from '../../src';
import {
  AVAILABILITY_ZONES,
  COMPUTE_TIERS,
  DATABASE_CHARSETS,
  DELETION_POLICIES,
  HIGH_AVAILABILITY_MODES,
  POSTGRES_VERSIONS,
  RETIRED_POSTGRES_VERSIONS,
  ROLE_PRIVILEGES,
  STORAGE_SIZES_GB,
  STORAGE_TIERS,
} from '../../src/api';

const valuesOf = (enumObject: object): unknown[] => Object.values(enumObject);

describe('construct enums agree with src/api', () => {
  test.each([
    ['ComputeTier', valuesOf(ComputeTier), COMPUTE_TIERS],
    ['HighAvailabilityMode', valuesOf(HighAvailabilityMode), HIGH_AVAILABILITY_MODES],
    ['AvailabilityZone', valuesOf(AvailabilityZone), AVAILABILITY_ZONES],
    ['DeletionPolicy', valuesOf(DeletionPolicy), DELETION_POLICIES],
    ['StorageTier', valuesOf(StorageTier), STORAGE_TIERS],
    ['RolePrivilege', valuesOf(RolePrivilege), ROLE_PRIVILEGES],
    ['DatabaseCharset', valuesOf(DatabaseCharset), DATABASE_CHARSETS],
  ])('%s', (_name, constructValues, apiValues) => {
    expect([...constructValues].sort()).toEqual([...apiValues].sort());
  });

  test('PostgresVersion: every version Azure creates servers on, and only retired ones besides (deprecated)', () => {
    const versions = valuesOf(PostgresVersion) as string[];
    expect(versions.filter(v => POSTGRES_VERSIONS.includes(v))).toEqual([...POSTGRES_VERSIONS]);
    expect(versions.filter(v => !POSTGRES_VERSIONS.includes(v)).every(v => RETIRED_POSTGRES_VERSIONS.includes(v))).toBe(true);
  });

  test('StorageSize: a constant for every size Azure offers', () => {
    const constants = Object.values(StorageSize).filter((v): v is StorageSize => v instanceof StorageSize).map(s => s.gibibytes);
    expect(constants).toEqual([...STORAGE_SIZES_GB]);
  });
});
