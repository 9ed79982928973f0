/**
 * PostgresDatabase: a database on a PostgresServer, created through ARM (so it is owned by the server administrator),
 * then locked against PUBLIC (REVOKE ALL ON DATABASE ... FROM PUBLIC) so that only roles granted CONNECT reach it.
 */
import type { Database, PostgresArm } from '../azure/postgres-arm';
import { keyString, type ControllerEnvironment, type OperationStatus, type PostgresDatabaseObject, type ReconcileResult } from '../contracts';
import { ArmChildController, type Builder, type ChildLocation, type WriteType } from './arm-child';
import { jitter, Reason, type Timing } from './common';
import { adminTarget, type ServerRef } from './parents';
import { isConnectionError, toPgError, withClient } from '../postgres/connect';
import { lockDownDatabase } from '../postgres/roles';

const RESERVED = ['postgres', 'azure_maintenance', 'azure_sys', 'template0', 'template1'];

export function normalizeDatabaseSpec(spec: PostgresDatabaseObject['spec']) {
  return {
    serverName: spec?.serverRef?.name,
    azureName: spec?.azureName,
    charset: spec?.charset ?? 'UTF8',
    collation: spec?.collation ?? 'en_US.utf8',
    deletionPolicy: spec?.deletionPolicy === 'Retain' ? 'Retain' : 'Delete',
  };
}

export function validateDatabaseSpec(d: ReturnType<typeof normalizeDatabaseSpec>): string[] {
  const p: string[] = [];
  if (!d.serverName) p.push('spec.serverRef.name is required');
  if (!d.azureName || !/^[a-z_][a-z0-9_]{0,62}$/.test(d.azureName)) {
    p.push('spec.azureName must be 1-63 lowercase letters, digits and underscores, starting with a letter or underscore');
  } else if (RESERVED.includes(d.azureName)) {
    p.push(`spec.azureName ${d.azureName} is reserved; choose another name`);
  }
  if (String(d.charset).toUpperCase() !== 'UTF8') p.push('spec.charset must be UTF8');
  if (!/^[A-Za-z0-9_.@-]{1,128}$/.test(d.collation)) p.push('spec.collation must be a collation name such as en_US.utf8');
  return p;
}

const sameName = (a: string | undefined, b: string): boolean => (a ?? '').toLowerCase().replace(/[-_]/g, '') === b.toLowerCase().replace(/[-_]/g, '');

type Spec = ReturnType<typeof normalizeDatabaseSpec>;

export class PostgresDatabaseController extends ArmChildController<PostgresDatabaseObject, Spec, Database> {
  declare readonly kind: 'PostgresDatabase';
  protected readonly noun = 'database';
  protected readonly written = 'created';

  constructor(env: ControllerEnvironment, arm: PostgresArm, timing: Timing) {
    super(env, arm, timing, 'PostgresDatabase');
  }

  protected normalize(obj: PostgresDatabaseObject) {
    return normalizeDatabaseSpec(obj.spec);
  }

  protected validate(d: Spec): string[] {
    return validateDatabaseSpec(d);
  }

  protected getResource({ rg, srv }: ChildLocation, d: Spec) {
    return this.arm.getDatabase(rg, srv, d.azureName);
  }

  protected resume({ rg, srv }: ChildLocation, d: Spec, op: OperationStatus) {
    return this.arm.resumeDatabaseOperation(rg, srv, d.azureName, op);
  }

  /** Databases are only created: charset and collation cannot change (see settle). */
  protected needsWrite(db: Database | undefined): WriteType | undefined {
    return db ? undefined : 'Create';
  }

  protected startWrite({ rg, srv }: ChildLocation, d: Spec, _type: WriteType, obj: PostgresDatabaseObject) {
    this.log.info({ key: keyString(obj.metadata), database: d.azureName, server: srv }, 'creating database');
    return this.arm.startCreateDatabase(rg, srv, d.azureName, { charset: d.charset, collation: d.collation }, obj.metadata.generation);
  }

  protected startDelete({ rg, srv }: ChildLocation, d: Spec, obj: PostgresDatabaseObject) {
    this.log.info({ key: keyString(obj.metadata), database: d.azureName }, 'deleting database');
    return this.arm.startDeleteDatabase(rg, srv, d.azureName, obj.metadata.generation);
  }

  protected writeVerb(): string {
    return 'creating';
  }

  protected async settle(_obj: PostgresDatabaseObject, sb: Builder, d: Spec, db: Database, server: ServerRef): Promise<ReconcileResult | undefined> {
    const unsupported: string[] = [];
    if (db.charset && !sameName(db.charset, d.charset)) unsupported.push(`spec.charset: Azure has ${db.charset}, spec asks ${d.charset}`);
    if (db.collation && !sameName(db.collation, d.collation)) unsupported.push(`spec.collation: Azure has ${db.collation}, spec asks ${d.collation}`);
    if (unsupported.length > 0) {
      sb.ready('False', Reason.UnsupportedChange, `${unsupported.join('; ')}; the character set and collation are fixed when a database is created. Revert the field or create a new database.`);
      await sb.commit();
      return { requeueAfterMs: jitter(this.timing.resyncMs) };
    }

    // Lock the database against PUBLIC: only roles granted CONNECT (PostgresRole) get in.
    const target = await adminTarget(this.env, server, d.azureName);
    if ('missing' in target) {
      sb.ready('False', Reason.WaitingForServer, target.missing);
      await sb.commit();
      return { requeueAfterMs: jitter(this.timing.waitMs) };
    }
    try {
      await withClient(target, (c) => lockDownDatabase(c, d.azureName));
    } catch (e) {
      const err = toPgError(e);
      sb.ready('False', isConnectionError(e) ? Reason.PostgresUnreachable : Reason.PostgresError,
        `locking database ${d.azureName} against PUBLIC failed: ${err.code}: ${err.message}`);
      await sb.commit();
      return { requeueAfterMs: jitter(this.timing.transientErrorMs) };
    }
    return undefined;
  }

  protected availableMessage(d: Spec, { srv }: ChildLocation): string {
    return `Database ${d.azureName} is ready on server ${srv}`;
  }
}
