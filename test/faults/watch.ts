/** Watching the server while a command runs and after it ended. */
import pg from 'pg';
import type { LaneContext } from './lane.js';

const WATCHER = 'faults-watch';

/** A connection for polling the server (pg_stat_activity) that reconnects after a restart. */
export function poller(ctx: LaneContext, database = 'postgres'): { query(sql: string, values?: unknown[]): Promise<any[]>; close(): Promise<void> } {
  let client: pg.Client | undefined;
  const drop = () => {
    client?.end().catch(() => undefined);
    client = undefined;
  };
  return {
    async query(sql, values) {
      try {
        if (!client) {
          client = new pg.Client({ connectionString: ctx.server.url(database), application_name: WATCHER });
          client.on('error', drop);
          await client.connect();
        }
        return (await client.query(sql, values)).rows;
      } catch {
        drop();
        return [];
      }
    },
    async close() {
      const open = client;
      client = undefined;
      await open?.end().catch(() => undefined);
    },
  };
}

/**
 * Waits (with a bound) until no session of the command is left on the
 * server (the lane's own: every client session but the test's is the
 * command's): after a killed command, the server runs the statement in
 * flight to its end (a migration's COMMIT, a CREATE DATABASE) before it
 * notices the client is gone. The end state is read after that.
 */
export async function sessionsEnded(ctx: LaneContext): Promise<string | undefined> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const rows = await ctx.server.query(`SELECT pid, datname, state, left(query, 60) AS q FROM pg_stat_activity
      WHERE pid <> pg_backend_pid() AND backend_type = 'client backend' AND application_name <> $1`, [WATCHER]).catch(() => undefined);
    if (rows && !rows.length) return undefined;
    if (Date.now() > deadline) return `sessions of the command still on the server 20 s after it ended: ${JSON.stringify(rows)}`;
    await new Promise((r) => setTimeout(r, 10));
  }
}

export type Poller = ReturnType<typeof poller>;

/** Whether a statement matching `pattern` (LIKE) runs on the database, other than the poller's own. */
export async function activeQuery(watch: Poller, database: string, pattern: string): Promise<boolean> {
  const rows = await watch.query(`SELECT 1 FROM pg_stat_activity
    WHERE datname = $1 AND state = 'active' AND pid <> pg_backend_pid() AND query LIKE $2`, [database, pattern]);
  return rows.length > 0;
}
