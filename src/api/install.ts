/**
 * Installs of the reconciler, and which one reconciles a resource. Two installs may watch the same namespace (a
 * cluster-wide install and a team's own); both would then lead (leader election is per install) and fight over the
 * resource: its status, its Azure resource, and above all the passwords they would each generate. So a resource is
 * claimed by the install that first reconciles it, and another install leaves it alone while that one runs.
 *
 *  - An install is named by its leader-election Lease, `<namespace>/<name>`: stable across restarts and shared by its
 *    replicas (the holder identity of the Lease is per process).
 *  - The claim is the annotation RECONCILED_BY_ANNOTATION on the resource, written in the patch that adds the
 *    finalizer: it costs no extra write.
 *  - The claimant runs while its Lease is renewed within its lease duration and, as the Lease's
 *    WATCH_NAMESPACES_ANNOTATION says, it still watches the resource's namespace. Otherwise another install takes the
 *    resource over (one patch).
 */
import { checkStringRule, DNS_LABEL, DNS_SUBDOMAIN } from './rules';

/** On a custom resource: the install that reconciles it, `<Lease namespace>/<Lease name>`. */
export const RECONCILED_BY_ANNOTATION = 'cdk8s-azure.dev/reconciled-by';

/** On an install's Lease: the namespaces it watches, comma-separated, or `*` for all. */
export const WATCH_NAMESPACES_ANNOTATION = 'cdk8s-azure.dev/watch-namespaces';

/** The name of an install's leader-election Lease unless --leader-election-id says otherwise. */
export const DEFAULT_LEADER_ELECTION_ID = 'cdk8s-azure-reconciler';

/** An install of the reconciler: its leader-election Lease. */
export interface InstallIdentity {
  readonly namespace: string;
  readonly name: string;
}

/** `<namespace>/<name>`, the value of RECONCILED_BY_ANNOTATION. */
export function formatInstall(install: InstallIdentity): string {
  return `${install.namespace}/${install.name}`;
}

/** The install an annotation value names, or undefined when it names none (absent, or not `<namespace>/<name>`). */
export function parseInstall(value: string | undefined): InstallIdentity | undefined {
  if (value === undefined) return undefined;
  const slash = value.indexOf('/');
  if (slash < 0) return undefined;
  const namespace = value.slice(0, slash);
  const name = value.slice(slash + 1);
  if (checkStringRule('namespace', namespace, DNS_LABEL) || checkStringRule('name', name, DNS_SUBDOMAIN)) return undefined;
  return { namespace, name };
}

export function sameInstall(a: InstallIdentity, b: InstallIdentity): boolean {
  return a.namespace === b.namespace && a.name === b.name;
}

/** The value of WATCH_NAMESPACES_ANNOTATION for the namespaces an install watches (undefined: all). */
export function formatWatchedNamespaces(namespaces: readonly string[] | undefined): string {
  return namespaces === undefined ? '*' : [...namespaces].sort().join(',');
}

/**
 * Whether an install whose Lease carries `annotation` watches `namespace`. A Lease without the annotation (written by
 * a reconciler that does not publish it) is taken to watch every namespace: an install is never taken over on a guess.
 */
export function watchesNamespace(annotation: string | undefined, namespace: string): boolean {
  if (annotation === undefined || annotation.trim() === '*') return true;
  return annotation.split(',').map((n) => n.trim()).includes(namespace);
}
