/**
 * Internal (not exported from index.ts): a Pod can read only Secrets of its own namespace, so a workload given a
 * role's connection environment (`role.env()`, `role.envValue()`, `role.addConnectionEnv()`, `WebAppWithDb`) must be
 * in the role's namespace. The values are marked when they are made, and a whole-app check finds them in the
 * containers of every cdk8s-plus workload at synth.
 */
import * as kplus from 'cdk8s-plus-34';
import { IConstruct } from 'constructs';
import { addAppCheck, AppOfPass } from './app-checks';
import { describeNamespace, namespaceKey } from './validation';

/** What the check needs to know of the role whose Secret a value reads. */
export interface ConnectionSecretSource extends IConstruct {
  readonly roleName: string;
  readonly secretName: string;
  readonly namespace: string | undefined;
}

/** Symbol.for, so that values made by a copy of the library loaded twice are still recognised. */
const READS_CONNECTION_SECRET = Symbol.for('cdk8s-azure.dev/reads-connection-secret');
const CONNECTION_ENV_NAMESPACES = Symbol('connection environment namespaces');

/** Marks `value` as read from the connection Secret of `role`, and checks at synth where it is used. */
export function markConnectionEnv(role: ConnectionSecretSource, value: kplus.EnvValue): kplus.EnvValue {
  Object.defineProperty(value, READS_CONNECTION_SECRET, { value: role, enumerable: false });
  addAppCheck(role, CONNECTION_ENV_NAMESPACES, checkConnectionEnvNamespaces, { inputsOf: environmentOf });
  return value;
}

function sourceOf(value: kplus.EnvValue): ConnectionSecretSource | undefined {
  return (value as any)[READS_CONNECTION_SECRET];
}

/** What the check reads of a workload that can change after it is created: its containers and their variables. */
function environmentOf(construct: IConstruct): unknown[] | undefined {
  if (!(construct instanceof kplus.AbstractPod)) {
    return undefined;
  }
  const inputs: unknown[] = [];
  for (const containers of [construct.initContainers, construct.containers]) {
    for (const container of containers) {
      inputs.push(container);
      const variables = container.env.variables;
      for (const variable in variables) {
        inputs.push(variable, variables[variable]);
      }
    }
  }
  return inputs;
}

/** Every workload whose containers read a role's connection Secret from another namespace fails, once per role. */
function checkConnectionEnvNamespaces(app: AppOfPass): void {
  for (const workload of app.constructs.filter((c): c is kplus.AbstractPod => c instanceof kplus.AbstractPod)) {
    const namespace = workload.metadata.namespace;
    const readers = new Map<ConnectionSecretSource, string[]>();
    for (const container of [...workload.initContainers, ...workload.containers]) {
      for (const [variable, value] of Object.entries(container.env.variables)) {
        const role = sourceOf(value);
        if (role !== undefined && namespaceKey(role.namespace) !== namespaceKey(namespace)) {
          readers.set(role, [...readers.get(role) ?? [], `${variable} of container "${container.name}"`]);
        }
      }
    }
    for (const [role, variables] of readers) {
      app.problemsOf(workload, 'workload environment').add('metadata.namespace', namespace,
        `the workload is in ${describeNamespace(namespace)}, but ${variables.join(', ')} read the connection Secret "${role.secretName}" `
        + `of role "${role.roleName}" (at '${role.node.path}'), which is in ${describeNamespace(role.namespace)}; a Pod can read only Secrets `
        + `of its own namespace: put the workload in ${describeNamespace(role.namespace)} (WebAppWithDb does unless metadata.namespace says `
        + 'otherwise), or connect as a role of a server in the workload\'s namespace');
    }
  }
}
