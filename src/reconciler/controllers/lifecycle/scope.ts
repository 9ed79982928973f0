/**
 * The namespace's scope (--namespace-scopes, src/api/scope.ts), checked before any Azure call, on reconcile and on
 * deletion: its resource groups; when scopes are set, the subscriptions a spec names (a server's network: its own, or
 * under its networkScopes) and the one
 * its status saw the resource in (a namespace moved to another subscription leaves what it had where it is: never
 * created a second time, never deleted through the new subscription).
 */
import type { AnyArmKindDescriptor, ArmObject } from './descriptor';
import { movedOutOfScope, outOfScope, scopeOf } from '../../../api';
import type { ArmAddress } from '../../azure/resource-id';
import type { ControllerEnvironment } from '../../contracts';

/** Why `obj` may not be read, written or deleted in Azure at `at` in `subscriptionId`, or undefined when it may. */
export function outsideScope(
  env: ControllerEnvironment,
  d: AnyArmKindDescriptor,
  obj: ArmObject,
  spec: unknown,
  at: ArmAddress,
  subscriptionId: string,
  deleting = false,
): string | undefined {
  const namespace = obj.metadata.namespace;
  const group = outOfScope(env.namespaceScopes, namespace, at.resourceGroup);
  if (group || !env.namespaceScopes) return group;
  const seen = obj.status?.azureResourceId;
  return (deleting ? undefined : d.outOfSubscription?.(obj, spec, subscriptionId, scopeOf(env.namespaceScopes, namespace))) ??
    (seen ? movedOutOfScope(namespace, subscriptionId, seen) : undefined);
}
