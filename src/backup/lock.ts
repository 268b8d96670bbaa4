/**
 * One backup at a time per database and directory. The lock is a session
 * advisory lock, held by a connection of its own for the whole backup: the
 * server releases it when that session ends, however the process ended
 * (exit, SIGKILL, an OOM kill, a pod replaced on another host), so a dead
 * run never blocks the next one. The lock file beside the backups only says
 * who holds it; it is never the lock itself.
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, readFile, realpath, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { TidemarkError, describeCause } from '../errors.js';
import { maskSecrets, type DatabaseTarget } from '../connection-string.js';
import { closeConnection } from '../connection-close.js';
import { describeConnectFailure, newClient } from '../db/connect.js';
import { connectionArgs, prepareTool, type ToolHost } from '../pgtools/exec.js';
import { describeExit, startTool, stopTools } from '../pgtools/run.js';
import { containerToolError } from './client.js';
import { safeFilePart } from './names.js';
import { untilAborted } from './stream.js';

export interface BackupLock {
  /** Aborted, with a coded error as its reason, when the lock's session ends before release. */
  lost: AbortSignal;
  /** Removes the lock file, then ends the session (which releases the lock). */
  release(): Promise<void>;
}

interface LockInfo {
  pid: number;
  host: string;
  startedAt: string;
}

/** A server session that can hold an advisory lock; rows come back as text. */
interface LockSession {
  query(sql: string): Promise<string[][]>;
  /** Called once when the session ends before close(). */
  onEnd(listener: (why: string) => void): void;
  close(): Promise<void>;
}

// A session idle longer than this is ended by the server (PostgreSQL 14+), so
// a lock whose holder vanished without closing its connection (a psql left
// behind in a container, a host gone) still expires; the heartbeat keeps a
// living holder's session busy well within it.
const IDLE_LIMIT = '60s';
const HEARTBEAT_MS = 15_000;
const CLOSE_GRACE_MS = 2_000;

/**
 * 61 bits of a SHA-256 with bit 61 set and bits 62 and 63 clear: apart from
 * the migration locks (32-bit keys) and the backfill locks (bit 62 set).
 */
export function backupLockKey(database: string, realDir: string): bigint {
  const digest = createHash('sha256').update(`tidemark backup\0${database}\0${realDir}`).digest();
  return (digest.readBigUInt64BE(0) & 0x1fffffffffffffffn) | 0x2000000000000000n;
}

const lockFileName = (database: string) => `.${safeFilePart(database)}.backup.lock`;

/** The session's application_name says who holds the lock, even before the lock file is written. */
const holderName = () => `tidemark backup pid ${process.pid} on ${hostname()}`.slice(0, 63);

/**
 * The error for a failed write into BACKUP_DIR: a full disk fails the
 * backup, a directory that cannot hold files (read-only, /proc, no
 * permission) is an unusable directory; never a bare errno.
 */
export function backupDirError(err: unknown, dir: string, operation: string, left = 'the partial file was removed'): TidemarkError {
  if (err instanceof TidemarkError) return err;
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new TidemarkError('BACKUP_FAILED', 'backup failed', {
      operation, cause: `no space left on the device; ${left}`, hint: 'free space in BACKUP_DIR (backup:prune) or point it at a larger volume',
    }, { cause: err });
  }
  const reason = {
    ENOENT: 'files cannot be created in it', EACCES: 'permission denied', EPERM: 'permission denied', EROFS: 'read-only file system', ENOTDIR: 'not a directory',
  }[code];
  if (!reason) return new TidemarkError('BACKUP_FAILED', 'backup failed', { operation, cause: describeCause(err) }, { cause: err });
  return new TidemarkError('BACKUP_DIR_INVALID', 'unusable backup directory', {
    operation: `use BACKUP_DIR ${dir}`, cause: `${reason} (${code})`, hint: 'point BACKUP_DIR at a writable directory (mode 0700)',
  }, { cause: err });
}

async function openPgSession(target: DatabaseTarget, operation: string, signal?: AbortSignal): Promise<LockSession> {
  const client = newClient({ ...target, client: { ...target.client, application_name: holderName() } });
  try {
    await untilAborted(client.connect(), signal);
  } catch (err) {
    void client.end().catch(() => undefined);
    if (signal?.aborted) throw err;
    throw new TidemarkError('DB_CONNECT_FAILED', 'cannot connect to the database', {
      operation: `${operation}: connect to ${target.redacted}`, cause: describeConnectFailure(target, err),
      hint: 'check DATABASE_URL (host, port, user, password, database) and that the server is running',
    }, { cause: err });
  }
  let closing = false;
  return {
    query: async (sql) => (await client.query({ text: sql, rowMode: 'array' })).rows.map((row: unknown[]) => row.map((v) => (v === null ? '' : String(v)))),
    onEnd: (listener) => client.once('end', () => closing || listener('its connection to the server ended')),
    close: async () => {
      closing = true;
      await closeConnection(client);
    },
  };
}

/**
 * Inside a container the server may not be reachable from here: the lock's
 * session is a psql there, fed statements on its stdin. Each statement is
 * followed by an \echo of a marker that ends its output.
 */
async function openPsqlSession(target: DatabaseTarget, host: ToolHost, operation: string): Promise<LockSession> {
  const cmd = await prepareTool('psql', [...connectionArgs(target, host), '-X', '-A', '-t', '-q', '-F', '\x1f', '-d', target.database], target, host);
  cmd.env.PGAPPNAME = holderName();
  const psql = await startTool(cmd, { stdin: 'pipe', stdout: 'stream' });
  const marker = `tidemark-${randomBytes(6).toString('hex')}`;
  let out = '';
  let err = '';
  let pending: { resolve: (rows: string[][]) => void; reject: (e: Error) => void } | undefined;
  let closing = false;
  let exited: Error | undefined;
  const ended: Array<(why: string) => void> = [];
  psql.stderr!.on('data', (d: Buffer) => (err += d));
  psql.stdout!.on('data', (d: Buffer) => {
    out += d;
    const end = out.indexOf(`${marker}\n`);
    if (end < 0 || !pending) return;
    const lines = out.slice(0, end).split('\n').filter((l) => l.length);
    const failed = /\bERROR:|FATAL:/.test(err) ? maskSecrets(err.trim(), [target.password]) : undefined;
    out = out.slice(end + marker.length + 1);
    err = '';
    const settle = pending;
    pending = undefined;
    if (failed) settle.reject(new Error(failed));
    else settle.resolve(lines.map((l) => l.split('\x1f')));
  });
  void psql.done.then((exit) => {
    exited = exit.startError ? containerToolError('psql', host, operation, describeExit(cmd.file, exit)) : new Error('psql ended');
    pending?.reject(exit.startError ? exited : new Error(maskSecrets(err.trim(), [target.password]) || 'psql ended'));
    if (!closing) ended.forEach((fn) => fn('its psql session ended'));
  });
  return {
    query: (sql) => new Promise((resolve, reject) => {
      if (exited) return reject(exited);
      pending = { resolve, reject };
      psql.stdin!.write(`${sql};\n\\echo ${marker}\n`);
    }),
    onEnd: (listener) => ended.push(listener),
    close: async () => {
      closing = true;
      psql.stdin!.end(); // psql ends its session at the end of its input
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([psql.done, new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)))]);
      clearTimeout(timer);
      await stopTools([psql]);
    },
  };
}

async function readLockInfo(file: string): Promise<LockInfo | undefined> {
  try {
    const info = JSON.parse(await readFile(file, 'utf8')) as LockInfo;
    return Number.isInteger(info.pid) && typeof info.host === 'string' ? info : undefined;
  } catch {
    return undefined; // empty, unreadable or half-written: it is information only
  }
}

async function writeLockInfo(file: string): Promise<void> {
  const info: LockInfo = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  const handle = await open(file, 'w', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(info)}\n`);
  } catch (err) {
    await rm(file, { force: true });
    throw err;
  } finally {
    await handle.close();
  }
}

/** The server session holding the key (pg_locks splits a bigint key into classid and objid). */
const holderSql = (key: bigint) => `SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.usename::text, ''), coalesce(host(a.client_addr), ''),
  to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
  FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
  WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.classid = ${key >> 32n} AND l.objid = ${key & 0xffffffffn}
    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) LIMIT 1`;

async function lockedError(session: LockSession, key: bigint, file: string, database: string, dir: string, operation: string): Promise<TidemarkError> {
  const [row] = await session.query(holderSql(key)).catch(() => []);
  const info = await readLockInfo(file);
  const [serverPid, app, user, from, since] = row ?? [];
  // The lock file may be older than the holder (written by a run that died): trust it only when the session names the same process.
  const fileMatches = info && app?.includes(`pid ${info.pid} on ${info.host}`);
  const who = fileMatches ? `pid ${info.pid} on ${info.host}, started ${info.startedAt}` : app?.match(/pid \d+ on \S+/)?.[0] ?? 'another session';
  const serverSession = row
    ? `; its server session: pid ${serverPid} ("${app}", user ${user}${from ? ` from ${from}` : ''}), connected since ${since}`
    : '';
  const holder = row && { pid: Number(serverPid), applicationName: app, user, clientAddress: from || null, connectedSince: since };
  return new TidemarkError('BACKUP_LOCKED', 'another backup is running', {
    operation,
    cause: `a backup of ${database} into ${dir} is running: ${who}${serverSession}`,
    hint: 'wait for it to finish; the lock is released when that run ends, however it ends',
    data: { key: key.toString(), ...(holder && { holder }), ...(fileMatches && { lockFile: info }) },
  });
}

function keepAlive(session: LockSession): { lost: AbortSignal; stop: () => void } {
  const controller = new AbortController();
  const lose = (why: string) => controller.abort(new TidemarkError('BACKUP_FAILED', 'backup failed', {
    operation: 'hold the backup lock', cause: `the backup lock was lost: ${why}`,
    hint: 'check the server (restarted? idle sessions terminated?) and run the backup again',
  }));
  session.onEnd(lose);
  let beating = false;
  // One heartbeat at a time: a session slow to answer is not sent a second one.
  const beat = setInterval(() => {
    if (beating) return;
    beating = true;
    session.query('SELECT 1').then(() => (beating = false), (err) => lose(describeCause(err)));
  }, HEARTBEAT_MS);
  beat.unref();
  return { lost: controller.signal, stop: () => clearInterval(beat) };
}

/** Takes the lock of this database and directory, or throws BACKUP_LOCKED naming the holder at once (never waits). */
export async function acquireBackupLock(
  target: DatabaseTarget, host: ToolHost, dir: string, operation: string, signal?: AbortSignal,
): Promise<BackupLock> {
  const realDir = await realpath(dir);
  const key = backupLockKey(target.database, realDir);
  const file = path.join(dir, lockFileName(target.database));
  const session = host.kind === 'local' ? await openPgSession(target, operation, signal) : await openPsqlSession(target, host, operation);
  try {
    const [[taken] = []] = await untilAborted(session.query(`SELECT pg_try_advisory_lock(${key}::bigint)`), signal);
    if (taken === undefined) throw new Error('the server gave no answer to pg_try_advisory_lock');
    if (taken !== 't' && taken !== 'true') throw await lockedError(session, key, file, target.database, dir, operation);
    // Before PostgreSQL 14 there is no such setting; the lock then lasts as long as its session.
    await session.query(`SELECT set_config('idle_session_timeout', ${pg.escapeLiteral(IDLE_LIMIT)}, false)`).catch(() => undefined);
    await writeLockInfo(file).catch((err) => { throw backupDirError(err, dir, operation, 'nothing was written'); });
  } catch (err) {
    await session.close();
    if (err instanceof TidemarkError || signal?.aborted) throw err;
    throw new TidemarkError('BACKUP_FAILED', 'cannot take the backup lock', { operation, cause: describeCause(err) }, { cause: err });
  }
  const alive = keepAlive(session);
  return {
    lost: alive.lost,
    release: async () => {
      alive.stop();
      await rm(file, { force: true }).catch(() => undefined);
      await session.close();
    },
  };
}
