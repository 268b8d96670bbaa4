/**
 * CREATE, DROP and RENAME DATABASE for restores and restore tests, and the
 * temporary names they restore into: `tidemark_<purpose>_<pid>_<host>_<random>`,
 * so that a later run can tell the leftovers of runs that died (same host,
 * pid gone) from the work of runs still going.
 */
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import { TidemarkError, describeCause } from '../errors.js';
import type { DatabaseTarget } from '../connection-string.js';
import { isConnectionLost } from '../db/connect.js';
import { isPgError } from '../pg-errors.js';
import type { BackupSettings } from './config.js';
import { processAlive } from '../process-alive.js';
import { querySql } from './server.js';

export type TemporaryPurpose = 'restoring' | 'verify';

const hostTag = () => createHash('sha256').update(hostname()).digest('hex').slice(0, 6);
const TEMPORARY = /^tidemark_(restoring|verify)_(\d+)_([0-9a-f]{6})_[0-9a-f]{8}$/;

/** At most 44 bytes, well within PostgreSQL's 63. */
export function temporaryDatabaseName(purpose: TemporaryPurpose, pid = process.pid): string {
  return `tidemark_${purpose}_${pid}_${hostTag()}_${randomBytes(4).toString('hex')}`;
}

export function parseTemporaryName(name: string): { purpose: TemporaryPurpose; pid: number; host: string } | undefined {
  const match = name.match(TEMPORARY);
  return match ? { purpose: match[1] as TemporaryPurpose, pid: Number(match[2]), host: match[3] } : undefined;
}

/** Whether a temporary database belongs to a run that is gone: started on this host, its process no longer there. */
export function isLeftover(name: string): boolean {
  const parsed = parseTemporaryName(name);
  return !!parsed && parsed.host === hostTag() && parsed.pid !== process.pid && !processAlive(parsed.pid);
}

const ident = (name: string) => pg.escapeIdentifier(name);
const literal = (text: string) => pg.escapeLiteral(text);

/** A failed catalog statement as a coded error (the local driver throws raw ones). */
function databaseError(operation: string, err: unknown, hint?: string): TidemarkError {
  if (err instanceof TidemarkError) return hint ? err.withHint(hint) : err;
  return new TidemarkError('RESTORE_FAILED', 'restore failed', { operation, cause: describeCause(err), hint }, { cause: err });
}

export interface ServerDatabases {
  exists: boolean;
  /** template0's encoding: a copy in another encoding needs a locale that fits it. */
  templateEncoding: string;
}

export async function lookUpDatabase(settings: BackupSettings, target: DatabaseTarget, name: string, operation: string): Promise<ServerDatabases> {
  const [[exists, templateEncoding]] = await querySql(target, settings.backup.host,
    `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = ${literal(name)}), (SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = 'template0')`,
    undefined, operation).catch((err) => { throw databaseError(operation, err); });
  return { exists: exists === 't' || exists === 'true', templateEncoding };
}

export interface Encoding {
  encoding?: string;
  collate?: string;
  ctype?: string;
}

export async function createDatabase(settings: BackupSettings, target: DatabaseTarget, name: string, encoding: Encoding = {}): Promise<void> {
  const clauses = [
    encoding.encoding && `ENCODING ${literal(encoding.encoding)}`,
    encoding.collate && `LC_COLLATE ${literal(encoding.collate)}`,
    encoding.ctype && `LC_CTYPE ${literal(encoding.ctype)}`,
  ].filter(Boolean).join(' ');
  const operation = `create database ${name}`;
  await querySql(target, settings.backup.host, `CREATE DATABASE ${ident(name)} TEMPLATE template0 ${clauses}`, undefined, operation)
    .catch((err) => { throw databaseError(operation, err, 'nothing was restored'); });
}

/** Our own temporary database: the sessions left in it (a dying pg_restore's) are ended with it (PostgreSQL 13+). */
async function dropOnce(settings: BackupSettings, target: DatabaseTarget, name: string, force: boolean): Promise<void> {
  await querySql(target, settings.backup.host, `DROP DATABASE IF EXISTS ${ident(name)}${force ? ' WITH (FORCE)' : ''}`, undefined, `drop database ${name}`);
}

/** Worth another try: the server restarting or not yet accepting connections, or a session still leaving. */
function isTransient(err: unknown): boolean {
  if (isPgError(err)) return /^(55006|57P0[1-3]|08)/.test(err.code!);
  // Connecting failed (TidemarkError from connect), or psql in a container reported it.
  return err instanceof TidemarkError || isConnectionLost(err);
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Drops a temporary database, reconnecting and trying again while the
 * server restarts (up to `timeoutMs`). Resolves false, instead of failing,
 * when it could not: the caller names the database that remains.
 */
export async function dropTemporaryDatabase(settings: BackupSettings, target: DatabaseTarget, name: string, options: { force: boolean; timeoutMs?: number }): Promise<boolean> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (let delay = 200; ; delay = Math.min(delay * 2, 2_000)) {
    try {
      await dropOnce(settings, target, name, options.force);
      return true;
    } catch (err) {
      if (!isTransient(err) || Date.now() + delay > deadline) return false;
      await pause(delay);
    }
  }
}

export function restoreTargetExists(name: string, operation: string, state = 'nothing was changed'): TidemarkError {
  return new TidemarkError('RESTORE_TARGET_EXISTS', 'the database exists', { operation, cause: `database ${name} already exists; ${state}`, hint: 'choose another name, or drop it first' });
}

const isDuplicate = (err: unknown) => (isPgError(err) && (err.code === '42P04' || err.code === '23505')) || /already exists|pg_database_datname_index/.test(describeCause(err));
const isInUse = (err: unknown) => (isPgError(err) && err.code === '55006') || /is being accessed by other users/.test(describeCause(err));

/**
 * Gives the finished copy its name. A session that is still in it (the
 * backend of pg_restore that just exited, an autovacuum worker) blocks the
 * rename for a moment, so it is tried again for up to `timeoutMs`. A name
 * taken meanwhile (another restore of the same name that finished first) is
 * RESTORE_TARGET_EXISTS, never the catalog's raw duplicate-key error.
 */
export async function renameDatabase(settings: BackupSettings, target: DatabaseTarget, from: string, to: string, operation: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let retried = false;
  for (let delay = 100; ; delay = Math.min(delay * 2, 1_000), retried = true) {
    try {
      await querySql(target, settings.backup.host, `ALTER DATABASE ${ident(from)} RENAME TO ${ident(to)}`, undefined, operation);
      return;
    } catch (err) {
      // A retry after a lost answer finds the rename done: the copy has its name.
      if (isMissing(err) && retried && (await renamed(settings, target, from, to))) return;
      if (isDuplicate(err)) throw restoreTargetExists(to, operation, 'it was created while this restore ran');
      if (isTransient(err)) await settleStatementsNaming(settings, target, from);
      if (!(isInUse(err) || isTransient(err)) || Date.now() + delay > deadline) throw databaseError(operation, err);
      if (isInUse(err)) await endSessions(settings, target, `datname = ${literal(from)} AND backend_type = 'autovacuum worker'`).catch(() => undefined);
      await pause(delay);
    }
  }
}

const isMissing = (err: unknown) => (isPgError(err) && err.code === '3D000') || /database .* does not exist/.test(describeCause(err));

async function renamed(settings: BackupSettings, target: DatabaseTarget, from: string, to: string): Promise<boolean> {
  const [[fromExists, toExists]] = await querySql(target, settings.backup.host,
    `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = ${literal(from)}), EXISTS (SELECT 1 FROM pg_database WHERE datname = ${literal(to)})`, undefined, 'look for the renamed copy');
  return (fromExists === 'f' || fromExists === 'false') && (toExists === 't' || toExists === 'true');
}

/**
 * A catalog statement whose connection died (CREATE DATABASE, a rename)
 * may still run on the server, and commit after anything done to clean up.
 * Its session is ended and waited for, so that what it did is settled.
 */
export async function settleStatementsNaming(settings: BackupSettings, target: DatabaseTarget, name: string): Promise<void> {
  await endSessions(settings, target, `state = 'active' AND position(${literal(name)} in query) > 0`).catch(() => undefined);
}

/** Ends the server sessions that match (never the caller's own); resolves once they are gone or after `timeoutMs`. */
export async function endSessions(settings: BackupSettings, target: DatabaseTarget, where: string, timeoutMs = 10_000): Promise<boolean> {
  const operation = 'end the restore\'s sessions';
  const deadline = Date.now() + timeoutMs;
  for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
    const rows = await querySql(target, settings.backup.host,
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE ${where} AND pid <> pg_backend_pid()`, undefined, operation);
    if (!rows.length) return true;
    if (Date.now() + delay > deadline) return false;
    await pause(delay);
  }
}

export const sessionsNamed = (applicationName: string) => `application_name = ${literal(applicationName)}`;

/**
 * Drops the temporary databases of runs on this host that are gone (their
 * pid is no longer there). A plain DROP: one that someone is connected to
 * is left alone. Returns the names dropped.
 */
export async function dropLeftovers(settings: BackupSettings, target: DatabaseTarget): Promise<string[]> {
  const rows = await querySql(target, settings.backup.host, `SELECT datname FROM pg_database WHERE datname LIKE 'tidemark\\_%'`, undefined, 'look for leftover temporary databases');
  const dropped: string[] = [];
  for (const [name] of rows) {
    if (!isLeftover(name)) continue;
    const ok = await dropOnce(settings, target, name, false).then(() => true, () => false);
    if (ok) dropped.push(name);
  }
  return dropped;
}
