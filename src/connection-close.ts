import type pg from 'pg';

/**
 * Whether closing a connection waits for the server to hang up. A library
 * call waits, so that its connection is gone when the call returns (an
 * application or a test may drop the database right after). A command-line
 * run that is about to exit need not: the goodbye is sent, and the process
 * leaves without waiting for the socket to wind down.
 */
let waitForClose = true;

export function closeConnectionsWithoutWaiting(): void {
  waitForClose = false;
}

/** Ends the connection; never fails (the work is done, or has failed with its own error). */
export async function closeConnection(client: pg.Client): Promise<void> {
  const closing = client.end().catch(() => undefined);
  if (waitForClose) await closing;
}
