/**
 * After the connection died under a migration (a server restart, a network
 * cut) or a cancel that the server never confirmed, nobody knows from the
 * client side whether the last COMMIT happened. A new connection reads the
 * version row and the history and says which it was, so that the user is
 * told the state, not a guess. A restarting server needs a moment: the new
 * connection is retried for a bounded time.
 */
import type pg from 'pg';
import { connect } from '../../db/connect.js';
import { closeConnection } from '../../connection-close.js';
import type { Step } from './plan.js';
import type { Session } from './session.js';
import { loadState } from './state.js';

const RECONNECT_WINDOW_MS = 15_000;
const RECONNECT_PAUSE_MS = 500;

async function reconnect(session: Session, windowMs: number): Promise<pg.Client | undefined> {
  const deadline = Date.now() + windowMs;
  for (;;) {
    try {
      return await connect(session.settings.database, { operation: 'reconnect to read the migration state' });
    } catch {
      if (Date.now() + RECONNECT_PAUSE_MS >= deadline) return undefined;
      await new Promise((resolve) => setTimeout(resolve, RECONNECT_PAUSE_MS));
    }
  }
}

const label = (v: bigint | null) => (v === null ? 'none' : String(v));

/** What the database holds now, as one sentence about the step; never throws. */
export async function stateAfterLoss(session: Session, step: Step, windowMs = RECONNECT_WINDOW_MS): Promise<string> {
  const client = await reconnect(session, windowMs);
  if (!client) {
    return `it could not be checked (no connection within ${windowMs / 1000} s): a migration that ran in a transaction is either committed whole or not at all; see task migrate:status`;
  }
  try {
    const { state, classification } = await loadState({ ...session, client });
    if (state.dirty) return `the database is dirty at version ${label(state.version)}: it runs outside a transaction and stopped part-way`;
    const entry = classification.entries.find((e) => e.version === step.version);
    const applied = entry?.state === 'applied';
    const done = step.direction === 'up' ? applied : !applied;
    const at = `the database is at version ${label(state.version)}, not dirty`;
    const what = step.direction === 'up' ? 'applied' : 'rolled back';
    return `${done ? `migration ${step.version} was ${what} (committed before the connection ended)` : `migration ${step.version} was not ${what}`}; ${at}`;
  } catch {
    return 'the state could not be read after reconnecting; see task migrate:status';
  } finally {
    await closeConnection(client);
  }
}
