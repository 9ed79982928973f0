/**
 * When an operation in flight may be polled again: not before the delay its last answer asked for (Azure's
 * Retry-After, clamped by the poll timing). A reconcile can come sooner for reasons that say nothing about the
 * operation (the echo of its own finalizer write, its server's status changing, a resync); polling then would spend a
 * read of ARM's bucket on an answer that cannot have changed. Kept per object UID, only while an operation is followed.
 */
export class PollSchedule {
  private readonly notBefore = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The operation of `uid` was just looked at: the next poll is due in `delayMs`. */
  set(uid: string, delayMs: number): void {
    this.notBefore.set(uid, this.now() + delayMs);
  }

  /** Milliseconds until the operation of `uid` may be polled; 0 when it may be now (the entry is then dropped). */
  wait(uid: string): number {
    const at = this.notBefore.get(uid);
    if (at === undefined) return 0;
    const left = at - this.now();
    if (left > 0) return left;
    this.notBefore.delete(uid);
    return 0;
  }

  forget(uid: string): void {
    this.notBefore.delete(uid);
  }
}
