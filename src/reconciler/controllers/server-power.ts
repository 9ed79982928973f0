/**
 * Stop and start, a step of the server's lifecycle. `spec.stopped: true` stops the server once it matches its spec
 * (changes are sent first: Azure refuses them while stopped); `false` starts a server Azure has stopped. Azure starts a
 * stopped server by itself after 7 days: a server this object had stopped that shows up running while the spec still
 * says stopped is reported (Warning Event StartedOutsideSpec) and stopped again.
 */
import type { Server, ServerForPatch } from '@azure/arm-postgresql-flexible';
import type { NormalizedServerSpec } from '../../api';
import type { ReconcileResult } from '../contracts';
import { Reason } from './common';
import type { LifecycleContext, LifecycleStep, StepDecision } from './lifecycle/descriptor';
import { afterStart } from './lifecycle/operations';
import { progress } from './lifecycle/outcome';

const isState = (server: Server, state: string): boolean => (server.state ?? '').toLowerCase() === state;

export class ServerPower implements LifecycleStep<Server, Server, ServerForPatch> {
  readonly name = 'stop and start';
  /** Azure's state as this object's status last recorded it (before this reconcile reads Azure). */
  private readonly recordedState: string;

  constructor(private readonly ctx: LifecycleContext<NormalizedServerSpec>) {
    this.recordedState = (ctx.status.status.state ?? '').toLowerCase();
  }

  /**
   * A stopped server takes no change: it stays stopped (Ready, Stopped) or is started. A server found running that
   * this object had stopped, while the spec still says stopped, is reported at once (it is stopped again once the other
   * steps are done).
   */
  async whenFound(server: Server): Promise<StepDecision<ServerForPatch>> {
    const { status, at, spec, env, object, log } = this.ctx;
    if (spec.stopped && this.recordedState === 'stopped' && isState(server, 'ready')) {
      const message = `Azure reports server ${at.name} ${server.state} although spec.stopped is true (Azure starts a stopped server after 7 days, or it was started outside the spec); stopping it again`;
      log.warn({ resource: this.ctx.resourceId }, 'a stopped server was started outside its spec; stopping it again');
      env.kube.event(object, 'Warning', 'StartedOutsideSpec', message);
    }
    if (!isState(server, 'stopped')) return undefined;
    if (spec.stopped) {
      status.ready('True', Reason.Stopped, `Server ${at.name} is stopped, as spec.stopped asks; Azure starts a stopped server by itself after 7 days, and the reconciler then stops it again`);
      await status.commit();
      return { stop: {} };
    }
    return { stop: await this.act('start', `starting server ${at.name} (spec.stopped is false)`) };
  }

  /** The server matches its spec: stop it when the spec says so. */
  async whenInSync(server: Server): Promise<ReconcileResult | undefined> {
    const { spec, at } = this.ctx;
    if (!spec.stopped || !isState(server, 'ready')) return undefined;
    return this.act('stop', `stopping server ${at.name} (spec.stopped is true)`);
  }

  private async act(action: 'start' | 'stop', what: string): Promise<ReconcileResult> {
    const { arm, at, object, env } = this.ctx;
    env.kube.event(object, 'Normal', action === 'stop' ? 'Stopping' : 'Starting', what);
    const step = await arm.startServerAction(at.resourceGroup, at.name, action, object.metadata.generation);
    const ended = await afterStart(this.ctx, step, what);
    if (ended) return ended;
    // Azure finished at once: the next read shows the new state.
    return progress(this.ctx.status, Reason.Updating, `${what}: done; reading it`, this.ctx.timing);
  }
}
