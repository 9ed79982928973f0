/**
 * The claim of an install on a resource (src/api/install.ts), checked first in every reconcile and deletion, before
 * anything is read from or written to Azure, PostgreSQL or a Secret:
 *
 *  - claimed by this install: go on;
 *  - unclaimed: claimed in the patch that adds the finalizer (a resource made before claims existed, which has the
 *    finalizer already: the annotation alone, once);
 *  - claimed by another install that runs (its Lease renewed, and it watches the namespace): left alone, with a
 *    Warning Event once. No status is written: the claimant keeps the Ready condition, and a second writer of it would
 *    make it flip between the two installs' views at every look (the claimant is the one whose view is true);
 *  - claimed by an install that is gone (its Lease missing, expired, or it no longer watches the namespace): taken
 *    over in one patch, with a Normal Event.
 *
 * A reconciler without leader election has no install identity: it claims nothing and takes nothing over, but it
 * does leave alone what a running install has claimed.
 */
import { formatInstall, parseInstall, RECONCILED_BY_ANNOTATION, sameInstall, type InstallIdentity } from '../../api';
import { FINALIZER, keyString, type AnyObject, type ControllerEnvironment, type Logger, type ReconcileResult } from '../contracts';
import { hasFinalizer, Reason } from './common';

/** A claim that keeps conflicting this often is left to the runtime's retry. */
const ATTEMPTS = 4;

export class Claims {
  /** The install each object was last reported deferred to (its Warning Event is recorded once). */
  private readonly deferredTo = new Map<string, string>();

  constructor(private readonly env: ControllerEnvironment, private readonly log: Logger) {}

  /**
   * The object to reconcile (with this install's finalizer and claim), or the result to end with when another install
   * reconciles it or it is gone. `deleting`: no finalizer is added; one without our finalizer needs nothing.
   */
  async hold<T extends AnyObject>(observed: T, deleting: boolean): Promise<{ obj: T } | { result: ReconcileResult }> {
    const { kube, installs } = this.env;
    const self = installs?.self;
    let obj = observed;
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      if (deleting && !hasFinalizer(obj, FINALIZER)) return { obj };
      const claimant = parseInstall(obj.metadata.annotations?.[RECONCILED_BY_ANNOTATION]);
      if (self && claimant && sameInstall(self, claimant)) {
        this.deferredTo.delete(obj.metadata.uid);
        return { obj: await this.withFinalizer(obj, deleting) };
      }
      let takeover: string | undefined;
      if (claimant && installs) {
        const state = await installs.state(claimant, obj.metadata.namespace);
        if (state.running) return { result: this.defer(obj, claimant, state.detail) };
        takeover = `took over from the reconciler install ${formatInstall(claimant)}: ${state.detail}`;
      }
      if (!self) return { obj: await this.withFinalizer(obj, deleting) };
      const written = await kube.claim(obj, deleting ? undefined : FINALIZER, { [RECONCILED_BY_ANNOTATION]: formatInstall(self) });
      if ('claimed' in written) {
        this.deferredTo.delete(obj.metadata.uid);
        if (takeover) {
          this.log.info({ key: keyString(obj.metadata), install: formatInstall(self) }, takeover);
          kube.event(obj, 'Normal', Reason.ClaimTakenOver, `${obj.kind} ${obj.metadata.name} is reconciled by the reconciler install ${formatInstall(self)}, which ${takeover}`);
        }
        return { obj: written.claimed };
      }
      if (!written.changed) return { result: {} };
      obj = written.changed;
    }
    throw new Error(`the claim of ${obj.kind} ${keyString(obj.metadata)} kept conflicting with other writes; trying again`);
  }

  /** The object with the finalizer (added unless present, or being deleted). */
  private async withFinalizer<T extends AnyObject>(obj: T, deleting: boolean): Promise<T> {
    return deleting || hasFinalizer(obj, FINALIZER) ? obj : this.env.kube.addFinalizer(obj, FINALIZER);
  }

  /** Another install reconciles it: nothing is written, and the next look is on a change or at the resync period. */
  private defer(obj: AnyObject, claimant: InstallIdentity, detail: string): ReconcileResult {
    const who = formatInstall(claimant);
    if (this.deferredTo.get(obj.metadata.uid) !== who) {
      this.deferredTo.set(obj.metadata.uid, who);
      if (this.deferredTo.size > 10_000) this.deferredTo.delete(this.deferredTo.keys().next().value!);
      const self = this.env.installs?.self;
      const me = self ? `this install (${formatInstall(self)})` : 'this reconciler (run without leader election, so no install)';
      this.log.warn({ key: keyString(obj.metadata), claimant: who }, 'reconciled by another install; leaving it alone');
      this.env.kube.event(obj, 'Warning', Reason.ReconciledByAnotherInstall,
        `${obj.kind} ${obj.metadata.name} is reconciled by the reconciler install ${who}, which claimed it first (annotation ${RECONCILED_BY_ANNOTATION}; ` +
        `${detail}). ${me} leaves it alone: no Azure call, no Secret or status write. Two installs watch namespace ${obj.metadata.namespace}: ` +
        'remove it from the watchNamespaces (--namespaces) of the install that should not reconcile it');
    }
    return {};
  }
}
