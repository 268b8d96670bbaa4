/**
 * A migration that waits for a table lock waits silently, and while it
 * waits its queued lock blocks every later query on that table. After each
 * interval of a step's run, a second connection asks the server whether the
 * step's backend is blocked (pg_blocking_pids) and by whom, so that the user
 * hears about it while it happens. Steps that end within the first interval
 * open no second connection.
 *
 * The same look tells a connection that died without a word (a half-open
 * TCP connection, a proxy that stopped forwarding): the server shows the
 * step's backend gone, or no longer running anything, while the client still
 * waits for its answer. Seen twice in a row, the connection is given up.
 */
import type pg from 'pg';
import type { DatabaseTarget } from '../../connection-string.js';
import { connect } from '../../db/connect.js';
import { closeConnection } from '../../connection-close.js';

export interface BlockingSession {
  pid: number;
  application: string;
  user: string;
  clientAddress: string | null;
  state: string | null;
  /** When its state began (idle in transaction since…). */
  since: Date | null;
  transactionStart: Date | null;
  query: string;
}

export interface LockWait {
  /** How long the step has run when this was seen. */
  waitedMs: number;
  /** The relation the step waits for, when the lock is on one. */
  relation: string | null;
  mode: string | null;
  holders: BlockingSession[];
}

const BLOCKERS_SQL = `SELECT w.relation, w.mode, a.pid, a.application_name, a.usename, host(a.client_addr), a.state, a.state_change, a.xact_start, left(a.query, 200)
  FROM pg_stat_activity a
  LEFT JOIN LATERAL (SELECT relation::regclass::text AS relation, mode FROM pg_locks WHERE pid = $1 AND NOT granted LIMIT 1) w ON true
 WHERE a.pid = ANY (pg_blocking_pids($1))
 ORDER BY a.pid`;

/** Whether the server still runs a statement for this backend. */
async function backendActive(monitor: pg.Client, pid: number): Promise<boolean> {
  const { rows } = await monitor.query({ text: 'SELECT state FROM pg_stat_activity WHERE pid = $1', values: [pid], rowMode: 'array' });
  return rows.length > 0 && rows[0][0] === 'active';
}

async function readLockWait(monitor: pg.Client, pid: number, waitedMs: number): Promise<LockWait | undefined> {
  const { rows } = await monitor.query({ text: BLOCKERS_SQL, values: [pid], rowMode: 'array' });
  if (!rows.length) return undefined;
  const holders = rows.map(([, , holderPid, application, user, clientAddress, state, since, transactionStart, query]) => ({
    pid: holderPid, application, user, clientAddress, state, since, transactionStart, query,
  }));
  return { waitedMs, relation: rows[0][0], mode: rows[0][1], holders };
}

export interface BackendWatch {
  intervalMs: number;
  onLockWait?: (wait: LockWait) => void;
  /** The server no longer runs the step's statement, yet no answer came: the connection is dead. */
  onGone: () => void;
}

/**
 * Watches one backend while a step runs; returns the function that stops
 * watching. Failures of the watch itself are ignored: it only informs.
 */
export function watchBackend(database: DatabaseTarget, client: pg.Client, watch: BackendWatch): () => Promise<void> {
  const { intervalMs } = watch;
  const pid = (client as unknown as { processID?: number }).processID;
  if (!pid || intervalMs <= 0) return async () => undefined;
  const started = Date.now();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let monitor: Promise<pg.Client | undefined> | undefined;
  let idleLooks = 0;
  const check = async () => {
    monitor ??= connect(database, { operation: 'watch the running migration' }).catch(() => undefined);
    const connection = await monitor;
    if (!connection || stopped) return;
    const active = await backendActive(connection, pid).catch(() => true);
    idleLooks = active ? 0 : idleLooks + 1;
    if (idleLooks >= 2 && !stopped) return watch.onGone();
    const wait = watch.onLockWait && (await readLockWait(connection, pid, Date.now() - started).catch(() => undefined));
    if (wait && !stopped) watch.onLockWait!(wait);
  };
  const schedule = () => {
    timer = setTimeout(() => void check().finally(() => !stopped && schedule()), intervalMs);
  };
  schedule();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    const connection = await monitor;
    if (connection) await closeConnection(connection);
  };
}
