/**
 * A connection, a transaction and an advisory lock, each held for the length
 * of a function and always given back, whatever the function does: the one
 * shape of "open, use, close" for the chores and backfills.
 */
import type pg from 'pg';
import { closeConnection } from '../connection-close.js';
import type { DatabaseTarget } from '../connection-string.js';
import { connect, type ConnectOptions } from './connect.js';

/** Connects (a coded DB_CONNECT_FAILED when it cannot), runs fn, and closes the connection. */
export async function withClient<T>(target: DatabaseTarget, options: ConnectOptions, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await connect(target, options);
  try {
    return await fn(client);
  } finally {
    await closeConnection(client);
  }
}

/** BEGIN, fn, COMMIT; ROLLBACK (never failing on its own) when fn or the COMMIT fails. */
export async function withTransaction<T>(client: pg.ClientBase, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

export interface AdvisoryLockOptions {
  /** What to throw when another session holds the lock: it is taken without waiting. */
  held: () => Promise<Error>;
}

/** Holds the session-level advisory lock `key` around fn; another holder makes it throw `held()`'s error at once. */
export async function withAdvisoryLock<T>(client: pg.ClientBase, key: bigint, fn: () => Promise<T>, options: AdvisoryLockOptions): Promise<T> {
  const { rows } = await client.query({ text: 'SELECT pg_try_advisory_lock($1::bigint)', values: [key.toString()], rowMode: 'array' });
  if (rows[0][0] !== true) throw await options.held();
  try {
    return await fn();
  } finally {
    await client.query('SELECT pg_advisory_unlock($1::bigint)', [key.toString()]).catch(() => undefined);
  }
}
