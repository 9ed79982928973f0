/**
 * The extensions of a database, a step of its lifecycle once the database matches its spec:
 *
 *  1. the names are checked against what Azure offers on the server's major version (InvalidSpec otherwise);
 *  2. the server's azure.extensions must allow them: the PostgresServer keeps that list (the union of what its
 *     databases ask for and its own parameters), so the database waits (WaitingForAllowList) until Azure has it;
 *  3. CREATE EXTENSION IF NOT EXISTS for each, on every reconcile (one dropped by hand comes back);
 *  4. one this database created and the spec no longer lists is dropped only under extensionRemovalPolicy Drop.
 *
 * status.extensions records what this database created and is still there.
 */
import { Reason } from './common';
import { formatProblems, missingFromAllowList, EXTENSIONS_PARAMETER, validateDatabaseSpec, type NormalizedDatabaseSpec } from '../../api';
import type { Database } from '../azure/postgres-arm';
import type { ReconcileResult } from '../contracts';
import { classifyAzureError, classifyPostgresError, postgresConditionMessage } from '../errors/classify';
import { withClient } from '../postgres/connect';
import { createExtension, dropExtension, installedExtensions } from '../postgres/extensions';
import type { LifecycleContext, LifecycleStep } from './lifecycle/descriptor';
import { failed, invalidSpec, waiting } from './lifecycle/outcome';
import { adminTarget, lookupServer } from './parents';

export class DatabaseExtensions implements LifecycleStep<Database, Database, Database> {
  readonly name = 'extensions';

  constructor(private readonly ctx: LifecycleContext<NormalizedDatabaseSpec>) {}

  async whenInSync(): Promise<ReconcileResult | undefined> {
    const { env, object, spec, status, timing, arm, at } = this.ctx;
    const created = status.status.extensions ?? [];
    const toDrop = spec.extensionRemovalPolicy === 'Drop' ? created.filter((name) => !spec.extensions.includes(name)) : [];
    if (spec.extensions.length === 0 && toDrop.length === 0) return undefined;
    const server = lookupServer(env, object.metadata.namespace, spec.serverName);
    if (!server) return waiting(status, Reason.WaitingForServer, `PostgresServer ${spec.serverName} is gone`, timing);
    const problems = validateDatabaseSpec(spec, server.spec.version).filter((p) => p.field.startsWith('extensions'));
    if (problems.length > 0) return invalidSpec(status, formatProblems(problems));

    if (spec.extensions.length > 0) {
      let allowList: string | undefined;
      try {
        allowList = (await arm.getConfiguration(at.resourceGroup, at.parents[0], EXTENSIONS_PARAMETER))?.value;
      } catch (e) {
        return failed(status, classifyAzureError(e), `reading server parameter ${EXTENSIONS_PARAMETER} failed`);
      }
      const missing = missingFromAllowList(allowList, spec.extensions);
      if (missing.length > 0) {
        return waiting(status, Reason.WaitingForAllowList,
          `waiting for server ${at.parents[0]} to allow-list ${missing.join(', ')} in ${EXTENSIONS_PARAMETER} (PostgresServer ${spec.serverName} adds what its databases ask for)`,
          timing);
      }
    }

    const target = await adminTarget(env, server, spec.azureName);
    if ('missing' in target) return waiting(status, Reason.WaitingForServer, target.missing, timing);
    let step = '';
    try {
      const present = await withClient(target, async (c) => {
        for (const name of spec.extensions) {
          step = `creating extension ${name} in database ${spec.azureName}`;
          await createExtension(c, name);
        }
        for (const name of toDrop) {
          step = `dropping extension ${name} from database ${spec.azureName} (extensionRemovalPolicy Drop)`;
          await dropExtension(c, name);
        }
        return installedExtensions(c);
      });
      const managed = [...new Set([...created, ...spec.extensions])].filter((name) => present.includes(name)).sort();
      status.set('extensions', managed.length > 0 ? managed : undefined);
    } catch (e) {
      const error = classifyPostgresError(e);
      status.ready('False', error.reason, postgresConditionMessage(`${step} failed`, error));
      await status.commit();
      return { failure: error.class };
    }
    return undefined;
  }
}
