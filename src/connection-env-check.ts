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
  /** A passwordless role's ServiceAccount, which its workloads must run as. */
  readonly serviceAccount?: kplus.IServiceAccount;
}

/** The pod label of AKS workload identity, and its value (also in postgres-role.ts, the public constant). */
const USE_LABEL = 'azure.workload.identity/use';

/** Symbol.for, so that values made by a copy of the library loaded twice are still recognised. */
const READS_CONNECTION_SECRET = Symbol.for('cdk8s-azure.dev/reads-connection-secret');
const CONNECTION_ENV_NAMESPACES = Symbol('connection environment namespaces');
const CONNECTION_ENV_IDENTITIES = Symbol('connection environment workload identities');

/** Marks `value` as read from the connection Secret of `role`, and checks at synth where it is used. */
export function markConnectionEnv(role: ConnectionSecretSource, value: kplus.EnvValue): kplus.EnvValue {
  Object.defineProperty(value, READS_CONNECTION_SECRET, { value: role, enumerable: false });
  addAppCheck(role, CONNECTION_ENV_NAMESPACES, checkConnectionEnvNamespaces, { inputsOf: environmentOf });
  if (role.serviceAccount !== undefined) {
    addAppCheck(role, CONNECTION_ENV_IDENTITIES, checkConnectionEnvIdentities, { inputsOf: identityOf });
  }
  return value;
}

/** What the checks read of a workload that can change after it is created: its containers and their variables. */
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

/** The identity check also reads a workload's ServiceAccount and its workload-identity label. */
function identityOf(construct: IConstruct): unknown[] | undefined {
  const environment = environmentOf(construct);
  if (environment === undefined) {
    return undefined;
  }
  const workload = construct as kplus.AbstractPod;
  return [...environment, workload.serviceAccount, workload.podMetadata.getLabel(USE_LABEL)];
}

function sourceOf(value: kplus.EnvValue): ConnectionSecretSource | undefined {
  return (value as any)[READS_CONNECTION_SECRET];
}

/** The roles whose connection Secret a workload's containers read (through marked values), with the variables. */
function readersOf(workload: kplus.AbstractPod, which: (role: ConnectionSecretSource) => boolean): Map<ConnectionSecretSource, string[]> {
  const readers = new Map<ConnectionSecretSource, string[]>();
  for (const container of [...workload.initContainers, ...workload.containers]) {
    for (const [variable, value] of Object.entries(container.env.variables)) {
      const role = sourceOf(value);
      if (role !== undefined && which(role)) {
        readers.set(role, [...readers.get(role) ?? [], `${variable} of container "${container.name}"`]);
      }
    }
  }
  return readers;
}

function workloadsOf(app: AppOfPass): kplus.AbstractPod[] {
  return app.constructs.filter((c): c is kplus.AbstractPod => c instanceof kplus.AbstractPod);
}

/** Every workload whose containers read a role's connection Secret from another namespace fails, once per role. */
function checkConnectionEnvNamespaces(app: AppOfPass): void {
  for (const workload of workloadsOf(app)) {
    const namespace = workload.metadata.namespace;
    const readers = readersOf(workload, role => namespaceKey(role.namespace) !== namespaceKey(namespace));
    for (const [role, variables] of readers) {
      app.problemsOf(workload, 'workload environment').add('metadata.namespace', namespace,
        `the workload is in ${describeNamespace(namespace)}, but ${variables.join(', ')} read the connection Secret "${role.secretName}" `
        + `of role "${role.roleName}" (at '${role.node.path}'), which is in ${describeNamespace(role.namespace)}; a Pod can read only Secrets `
        + `of its own namespace: put the workload in ${describeNamespace(role.namespace)} (WebAppWithDb does unless metadata.namespace says `
        + 'otherwise), or connect as a role of a server in the workload\'s namespace');
    }
  }
}

/**
 * A workload connecting as a passwordless role gets its token only as the role's ServiceAccount (the identity's
 * federated credential names it) and with the workload identity label (the webhook acts only on labelled Pods).
 */
function checkConnectionEnvIdentities(app: AppOfPass): void {
  for (const workload of workloadsOf(app)) {
    for (const [role, variables] of readersOf(workload, r => r.serviceAccount !== undefined)) {
      const wanted = role.serviceAccount!.name;
      const actual = workload.serviceAccount?.name;
      const uses = `${variables.join(', ')} connect as passwordless role "${role.roleName}" (at '${role.node.path}')`;
      if (actual !== wanted) {
        app.problemsOf(workload, 'workload identity').add('serviceAccount', actual,
          `${uses}, whose identity is federated with ServiceAccount "${wanted}": set serviceAccount: role.serviceAccount (WebAppWithDb does)`);
      }
      if (workload.podMetadata.getLabel(USE_LABEL) !== 'true') {
        app.problemsOf(workload, 'workload identity').add(`podMetadata.labels["${USE_LABEL}"]`, workload.podMetadata.getLabel(USE_LABEL),
          `${uses}: the Pods need the label ${USE_LABEL}: "true" to get the identity's token; add it with podMetadata.addLabel (WebAppWithDb does)`);
      }
    }
  }
}
