import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { abortSignalName, interruptedError, TidemarkError } from '../../errors.js';

export interface LockHolder {
  pid: number;
  applicationName: string;
  user: string;
  clientAddress: string | null;
  connectedSince: Date;
  state: string;
  stateSince: Date | null;
}

export interface LockOptions {
  timeoutMs: number;
  /** What is being locked, for messages. */
  operation: string;
  /** Called once when the first try fails, so that a CLI can say it is waiting. */
  onWait?: (holder: LockHolder | undefined) => void;
  /** Ends the wait early (SIGINT, SIGTERM): the reason names the signal. */
  signal?: AbortSignal;
}

const POLL_START_MS = 25;
const POLL_MAX_MS = 500;

async function tryLock(client: pg.Client, key: bigint): Promise<boolean> {
  const { rows } = await client.query({ text: 'SELECT pg_try_advisory_lock($1::bigint)', values: [key.toString()], rowMode: 'array' });
  return rows[0][0] === true;
}

/**
 * Every key tried in one round trip (the usual case: nobody holds them), left
 * to right. Returns how many keys, from the first, are now held: as if taken
 * one by one, which stops at the first key held elsewhere, so a key taken
 * after that one is given back. The rest are then waited for one by one.
 */
async function tryLocks(client: pg.Client, keys: bigint[]): Promise<number> {
  const { rows } = await client.query({
    text: `SELECT ${keys.map((_, i) => `pg_try_advisory_lock($${i + 1}::bigint)`).join(', ')}`,
    values: keys.map(String),
    rowMode: 'array',
  });
  const taken = rows[0] as boolean[];
  const leading = taken.indexOf(false) === -1 ? keys.length : taken.indexOf(false);
  await releaseLocks(client, keys.filter((_, i) => i > leading && taken[i]));
  return leading;
}

export async function findLockHolder(client: pg.Client, key: bigint): Promise<LockHolder | undefined> {
  const { rows } = await client.query({
    text: `SELECT a.pid, a.application_name, a.usename, host(a.client_addr), a.backend_start, a.state, a.state_change
             FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
              AND l.classid = ($1::bigint >> 32)::oid AND l.objid = ($1::bigint & 4294967295)::oid
              AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
            LIMIT 1`,
    values: [key.toString()],
    rowMode: 'array',
  });
  if (!rows.length) return undefined;
  const [pid, applicationName, user, clientAddress, connectedSince, state, stateSince] = rows[0];
  return { pid, applicationName, user, clientAddress, connectedSince, state, stateSince };
}

export function describeHolder(holder: LockHolder | undefined): string {
  if (!holder) return 'another session held it (it was released before it could be named)';
  const app = holder.applicationName ? `"${holder.applicationName}"` : 'no application_name';
  const from = holder.clientAddress ? ` from ${holder.clientAddress}` : '';
  return `held by pid ${holder.pid} (${app}, user ${holder.user}${from}), connected since ${holder.connectedSince.toISOString()}, ${holder.state ?? 'unknown state'}${holder.stateSince ? ` since ${holder.stateSince.toISOString()}` : ''}`;
}

function timeoutError(key: bigint, holder: LockHolder | undefined, waitedMs: number, operation: string): TidemarkError {
  return new TidemarkError('MIGRATION_LOCK_TIMEOUT', 'timed out waiting for the migration lock', {
    operation,
    cause: `advisory lock ${key} was ${describeHolder(holder)}; waited ${(waitedMs / 1000).toFixed(1)}s`,
    hint: 'wait for the other run to finish, raise --lock-timeout (TIDEMARK_LOCK_TIMEOUT), or end that session with pg_terminate_backend(pid) if it is stuck',
    data: { key: key.toString(), holder, waitedMs: Math.round(waitedMs) },
  });
}

/** Sleeps, unless the signal ends the wait first; the timer is cleared either way. */
async function pause(ms: number, signal: AbortSignal | undefined, operation: string): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch (err) {
    if (!signal?.aborted) throw err;
    throw interruptedError(abortSignalName(signal), operation, 'nothing was changed: the migration lock was never taken');
  }
}

/**
 * One key, tried with a growing pause between tries until the deadline: the
 * last pause is cut to end at the deadline, where the lock is tried once more.
 */
async function acquireLock(client: pg.Client, key: bigint, started: number, options: LockOptions): Promise<void> {
  const deadline = started + options.timeoutMs;
  let delay = POLL_START_MS;
  for (let tries = 0; !(await tryLock(client, key)); tries++) {
    const holder = await findLockHolder(client, key);
    const left = deadline - performance.now();
    if (left <= 0) throw timeoutError(key, holder, performance.now() - started, options.operation);
    if (tries === 0) options.onWait?.(holder);
    await pause(Math.min(delay, left), options.signal, options.operation);
    delay = Math.min(delay * 2, POLL_MAX_MS);
  }
}

/**
 * Session-level advisory locks taken with pg_try_advisory_lock in a loop:
 * never pg_advisory_lock, whose wait inside the server can deadlock against
 * CREATE INDEX CONCURRENTLY run by the lock holder. The timeout covers all
 * the keys together.
 */
export async function acquireLocks(client: pg.Client, keys: bigint[], options: LockOptions): Promise<void> {
  const started = performance.now();
  const held: bigint[] = [];
  try {
    // Should this statement fail, which keys it took is unknown: the caller ends the session.
    if (keys.length) held.push(...keys.slice(0, await tryLocks(client, keys)));
    for (const key of keys.slice(held.length)) {
      await acquireLock(client, key, started, options);
      held.push(key);
    }
  } catch (err) {
    await releaseLocks(client, held).catch(() => undefined);
    if (err instanceof TidemarkError) throw err;
    throw new TidemarkError('MIGRATION_INIT_FAILED', 'cannot take the migration lock',
      { operation: options.operation, cause: (err as Error).message }, { cause: err });
  }
}

/** In the reverse order of taking, in one round trip. */
export async function releaseLocks(client: pg.Client, keys: bigint[]): Promise<void> {
  if (!keys.length) return;
  const reversed = [...keys].reverse();
  await client.query({ text: `SELECT ${reversed.map((_, i) => `pg_advisory_unlock($${i + 1}::bigint)`).join(', ')}`, values: reversed.map(String) });
}
