/**
 * One owner per Azure child. Databases and firewall rules carry no owner tags in Azure, so two objects could name the
 * same one (same server, same name); only one of them manages it, and the other is never allowed to change or delete
 * it (it reports Conflict). The manager is the one that already claimed it (its status has the resource's ID) or,
 * when neither or both did, the older one.
 */
import { sameAddress, type ArmAddress } from '../../azure/resource-id';
import type { ControllerEnvironment } from '../../contracts';
import { findCondition, READY, Reason } from '../common';
import type { AnyArmKindDescriptor, ArmObject } from './descriptor';

/** The object has the resource: its status records it, and it is not itself in Conflict. */
function hasClaimed(obj: ArmObject): boolean {
  return !!obj.status?.azureResourceId && findCondition(obj.status.conditions, READY)?.reason !== Reason.Conflict;
}

function created(obj: ArmObject): number {
  const t = obj.metadata.creationTimestamp;
  return t ? new Date(t).getTime() : Number.MAX_SAFE_INTEGER;
}

/** Whether `a` takes precedence over `b` for the same Azure resource. */
function precedes(a: ArmObject, b: ArmObject): boolean {
  if (hasClaimed(a) !== hasClaimed(b)) return hasClaimed(a);
  if (created(a) !== created(b)) return created(a) < created(b);
  return a.metadata.uid < b.metadata.uid;
}

const azureNames = new WeakMap<object, string | undefined>();

/**
 * An object's Azure name in lower case, computed once per version of the object (the informer cache replaces an object
 * when it changes): every reconcile and event looks at all objects of a kind, which must not normalize each of them
 * every time (1000 rules: a million normalizations in a burst).
 */
export function azureNameOf(obj: ArmObject, name: (obj: ArmObject) => string | undefined): string | undefined {
  if (azureNames.has(obj)) return azureNames.get(obj);
  const lower = name(obj)?.toLowerCase();
  azureNames.set(obj, lower);
  return lower;
}

/** Another live object that manages the Azure resource at `at` instead of `obj`, or undefined when `obj` manages it. */
export function managedByAnother(
  env: ControllerEnvironment,
  descriptor: AnyArmKindDescriptor,
  obj: ArmObject,
  at: ArmAddress,
): ArmObject | undefined {
  const name = at.name.toLowerCase();
  for (const other of env.kube.list<ArmObject>(descriptor.kind)) {
    if (other.metadata.uid === obj.metadata.uid) continue;
    // Only a namesake can be at the same address: its recorded resource, or the one its spec names.
    const recorded = other.status?.azureResourceId;
    const recordedName = recorded?.slice(recorded.lastIndexOf('/') + 1).toLowerCase();
    if (recordedName !== name && azureNameOf(other, (o) => descriptor.azureName(descriptor.normalize(o))) !== name) continue;
    const where = descriptor.placeForDeletion(env, other, descriptor.normalize(other));
    if (where && sameAddress(where, at) && precedes(other, obj)) return other;
  }
  return undefined;
}
