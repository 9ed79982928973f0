/**
 * Read your own writes. The informer cache shows a status write only when its watch event arrives; a reconcile that
 * runs before that (requeued at once by a Secret write, say) would see the status one write behind: an operation that
 * already ended, and follow it again, or none at all, and send its request a second time. So the status a controller
 * wrote last is the status, until the cache shows it; the cache is the source only for what this process has not
 * written (a new process, another object).
 */
import type { AnyObject, ObjectKey } from '../../contracts';
import { keyString } from '../../contracts';
import { jsonEqual } from '../../kube/json-equal';
import type { StatusRecorder } from '../common';

interface Written {
  readonly uid: string;
  readonly status: object;
}

/** Equal statuses, ignoring lastTransitionTime (which the Kube implementation may set on its own). */
function sameStatus(a: unknown, b: unknown): boolean {
  return jsonEqual(a, b, (key) => key === 'lastTransitionTime');
}

export class StatusMemory implements StatusRecorder {
  private readonly written = new Map<string, Written>();

  record(obj: AnyObject, status: object): void {
    this.written.set(keyString(obj.metadata), { uid: obj.metadata.uid, status });
  }

  /**
   * The object as this controller knows it: with the status it wrote last, when the cache does not show that yet.
   * Once the cache shows it, the memory of it is dropped.
   */
  view<T extends AnyObject>(cached: T): T {
    const key = keyString(cached.metadata);
    const mine = this.written.get(key);
    if (!mine) return cached;
    if (mine.uid !== cached.metadata.uid) {
      // Deleted and created again under the same name: what we wrote was about the earlier object.
      this.written.delete(key);
      return cached;
    }
    if (sameStatus(cached.status ?? {}, mine.status)) {
      this.written.delete(key);
      return cached;
    }
    return { ...cached, status: structuredClone(mine.status) } as T;
  }

  forget(key: ObjectKey): void {
    this.written.delete(keyString(key));
  }
}
