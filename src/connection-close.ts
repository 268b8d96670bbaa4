import type pg from 'pg';

/** Set on each client by newClient from its target's `waitForClose`. */
export const WAIT_FOR_CLOSE = Symbol('tidemark.waitForClose');

type Closable = pg.Client & { [WAIT_FOR_CLOSE]?: boolean };

/** Records on the client how its connection is to end (see DatabaseTarget.waitForClose). */
export function setCloseBehaviour(client: pg.Client, waitForClose: boolean | undefined): void {
  (client as Closable)[WAIT_FOR_CLOSE] = waitForClose ?? true;
}

/** Ends the connection; never fails (the work is done, or has failed with its own error). */
export async function closeConnection(client: pg.Client): Promise<void> {
  const closing = client.end().catch(() => undefined);
  if ((client as Closable)[WAIT_FOR_CLOSE] !== false) await closing;
}
