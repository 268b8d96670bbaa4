/**
 * Queries that an interrupt can stop on the server: when the run's
 * AbortSignal fires, a cancel request goes to the backend, and the query
 * ends the way PostgreSQL ends it (SQLSTATE 57014, its transaction rolled
 * back). A server that does not answer the cancel within a grace period
 * has its connection closed instead, which makes it roll back too.
 */
import type pg from 'pg';
import type { DatabaseTarget } from '../../connection-string.js';
import { cancelBackend } from '../../db/connect.js';
import { isPgError } from '../../pg-errors.js';

export interface CancellableTarget {
  client: pg.Client;
  database: DatabaseTarget;
  signal?: AbortSignal;
}

/** How long a cancelled query may take to end before its connection is closed. */
export const CANCEL_GRACE_MS = 5_000;

/** The server did not end the query within the grace period after the cancel request. */
export class CancelUnconfirmedError extends Error {
  constructor() {
    super(`the server did not end the statement within ${CANCEL_GRACE_MS / 1000} s of the cancel request; the connection was closed`);
  }
}

/** Closes the socket under a client whose server stopped answering: the pending query fails at once. */
export function dropConnection(client: pg.Client): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

export async function cancellableQuery<R = unknown>(target: CancellableTarget, text: string): Promise<R> {
  const { signal, client } = target;
  const running = client.query(text) as unknown as Promise<R>;
  if (!signal) return running;
  let timer: NodeJS.Timeout | undefined;
  let unconfirmed = false;
  const onAbort = () => {
    void cancelBackend(target.database, client);
    timer = setTimeout(() => {
      unconfirmed = true;
      dropConnection(client);
    }, CANCEL_GRACE_MS);
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await running;
  } catch (err) {
    throw unconfirmed ? new CancelUnconfirmedError() : err;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}

/** Work stopped by the interrupt before it was sent to the server. */
export class StoppedBeforeSendingError extends Error {}

/** Whether a failure is the cancellation this run asked for (not a statement_timeout of the migration's own). */
export function isOurCancel(err: unknown, signal: AbortSignal | undefined): boolean {
  if (!signal?.aborted) return false;
  return err instanceof CancelUnconfirmedError || err instanceof StoppedBeforeSendingError || (isPgError(err) && err.code === '57014');
}
