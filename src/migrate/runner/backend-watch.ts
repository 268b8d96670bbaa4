/**
 * A migration that waits for a table lock waits silently, and while it
 * waits its queued lock blocks every later query on that table. After each
 * interval of a step's run, a second connection asks the server whether the
 * step's backend is blocked (pg_blocking_pids) and by whom, so that the user
 * hears about it while it happens. Steps that end within the first interval
 * open no second connection.
 *
 * Under a lock_timeout (see ddl-lock.ts) the look comes more often, so that
 * a wait that the timeout ends has been seen, and the retry can name the
 * session it waited for; the reports still come at their interval.
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
  /** When its current (or, when idle, its last) query started. */
  queryStart: Date | null;
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

const BLOCKERS_SQL = `SELECT w.relation, w.mode, a.pid, a.application_name, a.usename, host(a.client_addr), a.state, a.state_change, a.xact_start, a.query_start, left(a.query, 200)
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
  const holders = rows.map(([, , holderPid, application, user, clientAddress, state, since, transactionStart, queryStart, query]) => ({
    pid: holderPid, application, user, clientAddress, state, since, transactionStart, queryStart, query,
  }));
  return { waitedMs, relation: rows[0][0], mode: rows[0][1], holders };
}

export interface BackendWatch {
  /** How often a lock wait is reported, and a dead connection looked for; 0: neither. */
  intervalMs: number;
  /**
   * The lock_timeout under which the step runs (0: none). The watch then looks
   * every third of it, so that a wait that lasts the whole timeout has been
   * looked at twice, and the session it queued behind seen, before the
   * server ends it.
   */
  lockTimeoutMs?: number;
  onLockWait?: (wait: LockWait) => void;
  /** The server no longer runs the step's statement, yet no answer came: the connection is dead. */
  onGone: () => void;
}

export interface BackendWatcher {
  /** The latest lock wait seen since the watch (or the current try) began. */
  lastWait(): LockWait | undefined;
  /** A new unit of work begins on the same try (the next statement of a file): earlier waits are forgotten. */
  forget(): void;
  /** Between two tries (the backend is idle on purpose): no looks until newTry. */
  pause(): void;
  /** A new try of the step begins: waits are timed, and remembered, from now. */
  newTry(): void;
  stop(): Promise<void>;
}

/** Never look more often than this, however short the lock_timeout. */
const MIN_LOOK_MS = 50;

/** How often to look, and every how many looks a wait is reported (0: never). */
function lookPlan(watch: BackendWatch): { everyMs: number; reportEvery: number } {
  const third = watch.lockTimeoutMs ? Math.max(watch.lockTimeoutMs / 3, MIN_LOOK_MS) : 0;
  if (!third || (watch.intervalMs > 0 && watch.intervalMs <= third)) return { everyMs: watch.intervalMs, reportEvery: 1 };
  if (watch.intervalMs <= 0) return { everyMs: third, reportEvery: 0 };
  const looks = Math.ceil(watch.intervalMs / third);
  return { everyMs: watch.intervalMs / looks, reportEvery: looks };
}

const NOT_WATCHING: BackendWatcher = { lastWait: () => undefined, forget: () => undefined, pause: () => undefined, newTry: () => undefined, stop: async () => undefined };

/**
 * Watches one backend while a step runs. Failures of the watch itself are
 * ignored: it only informs.
 */
export function watchBackend(database: DatabaseTarget, client: pg.Client, watch: BackendWatch): BackendWatcher {
  const { everyMs, reportEvery } = lookPlan(watch);
  const pid = (client as unknown as { processID?: number }).processID;
  if (!pid || everyMs <= 0) return NOT_WATCHING;
  let started = Date.now();
  // A look that began before a new try belongs to the old one: its result is dropped.
  let tryNumber = 0;
  let stopped = false;
  let paused = false;
  let timer: NodeJS.Timeout | undefined;
  let monitor: Promise<pg.Client | undefined> | undefined;
  let idleLooks = 0;
  let looks = 0;
  let seen: LockWait | undefined;
  const check = async () => {
    const current = tryNumber;
    looks++;
    monitor ??= connect(database, { operation: 'watch the running migration' }).catch(() => undefined);
    const connection = await monitor;
    if (!connection || stopped || paused || current !== tryNumber) return;
    if (watch.intervalMs > 0) {
      const active = await backendActive(connection, pid).catch(() => true);
      idleLooks = active ? 0 : idleLooks + 1;
      if (idleLooks >= 2 && !stopped && !paused && current === tryNumber) return watch.onGone();
    }
    const wait = await readLockWait(connection, pid, Date.now() - started).catch(() => undefined);
    if (!wait || stopped || paused || current !== tryNumber) return;
    seen = wait;
    if (reportEvery && looks % reportEvery === 0) watch.onLockWait?.(wait);
  };
  const schedule = () => {
    const own = tryNumber;
    timer = setTimeout(() => void check().finally(() => !stopped && !paused && own === tryNumber && schedule()), everyMs);
  };
  schedule();
  return {
    lastWait: () => seen,
    forget: () => {
      seen = undefined;
    },
    pause: () => {
      paused = true;
      tryNumber++;
      clearTimeout(timer);
    },
    newTry: () => {
      [started, seen, looks, idleLooks, paused] = [Date.now(), undefined, 0, 0, false];
      tryNumber++;
      clearTimeout(timer);
      schedule();
    },
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      const connection = await monitor;
      if (connection) await closeConnection(connection);
    },
  };
}

/** One session that holds a lock: pid, application, user, state, since when, and the start of its query. */
export function describeBlockingSession(holder: BlockingSession): string {
  const app = holder.application ? `"${holder.application}"` : 'no application_name';
  const since = holder.since ? ` since ${holder.since.toISOString()}` : '';
  // An idle session's text is its last query, which ended before `since`.
  const started = holder.queryStart && holder.state !== 'active' ? ` (its last query started ${holder.queryStart.toISOString()})` : '';
  const query = holder.query ? `: ${holder.query.replace(/\s+/g, ' ').slice(0, 120)}` : '';
  const from = holder.clientAddress ? ` from ${holder.clientAddress}` : '';
  return `pid ${holder.pid} (${app}, user ${holder.user}${from}), ${holder.state ?? 'unknown state'}${since}${started}${query}`;
}

/** The lock a wait is for: `AccessExclusiveLock on orders`, or `a lock`. */
export function describeWaitedLock(wait: LockWait): string {
  return wait.mode ? `${wait.mode}${wait.relation ? ` on ${wait.relation}` : ''}` : 'a lock';
}
