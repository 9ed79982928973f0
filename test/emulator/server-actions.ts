/**
 * What Azure does to a stopped server by itself: it starts it again after 7 days (a stopped flexible server is
 * started automatically so that it receives maintenance). The emulator's admin API triggers it at once.
 */
import type { PgInstance } from './postgres';

/** A server record as far as the auto-start needs it. */
export interface StartableServer {
  name: string;
  state: string;
  pg?: PgInstance;
}

/** Starts a Stopped server as Azure does after 7 days: PostgreSQL comes up and the state is Ready, with no ARM write. */
export async function autoStart(s: StartableServer): Promise<void> {
  if (s.state !== 'Stopped') throw new Error(`server '${s.name}' is ${s.state}, not Stopped: Azure starts only stopped servers by itself`);
  s.state = 'Starting';
  try {
    await s.pg!.start();
  } catch (e) {
    s.state = 'Stopped';
    throw e;
  }
  s.state = 'Ready';
}
