/**
 * Scratch databases: made for one run on a server, dropped when the run
 * ends, stopped or failed. A run that was killed outright leaves its scratch
 * database behind; every run first drops those of runs that are gone. The
 * name says which run made it (`tidemark_scratch_<pid>_<host>_<random>`),
 * the database comment when (`{"tidemark":"scratch","purpose":…,"created":…}`).
 */
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import type { DatabaseTarget } from '../connection-string.js';
import { TidemarkError, describeCause } from '../errors.js';
import { processAlive } from '../process-alive.js';
import { withClient } from './scoped.js';

export interface ScratchDatabase {
  name: string;
  /** The server's target with this database in place of its own. */
  target: DatabaseTarget;
}

/** A leftover is a day old when its run may be alive elsewhere (another host): then it is dropped all the same. */
const MAX_AGE_MS = 24 * 60 * 60 * 1000;
const NAME = /^tidemark_scratch_(\d+)_([0-9a-f]{6})_[0-9a-f]{8}$/;

const hostTag = () => createHash('sha256').update(hostname()).digest('hex').slice(0, 6);

export function scratchName(pid = process.pid): string {
  return `tidemark_scratch_${pid}_${hostTag()}_${randomBytes(4).toString('hex')}`;
}

/** The same server, another database. */
export function targetFor(server: DatabaseTarget, database: string): DatabaseTarget {
  const redacted = server.redacted.replace(/\/[^/?#]*(?=[?#]|$)/, `/${encodeURIComponent(database)}`);
  return { ...server, database, urlPath: `/${database}`, redacted, client: { ...server.client, database } };
}

function scratchError(operation: string, err: unknown, hint?: string): TidemarkError {
  if (err instanceof TidemarkError) return err;
  return new TidemarkError('SCRATCH_DATABASE_FAILED', 'scratch database failed', { operation, cause: describeCause(err), hint }, { cause: err });
}

interface Found {
  name: string;
  comment: string | null;
}

/** Whether a scratch database belongs to a run that is gone (or is older than a day). */
export function isAbandoned(found: Found, now = Date.now()): boolean {
  const match = found.name.match(NAME);
  if (!match) return false;
  const [pid, host] = [Number(match[1]), match[2]];
  if (host === hostTag() && pid !== process.pid && !processAlive(pid)) return true;
  const created = Date.parse(String(parseComment(found.comment)?.created ?? ''));
  return Number.isFinite(created) && now - created > MAX_AGE_MS;
}

function parseComment(comment: string | null): Record<string, unknown> | undefined {
  try {
    return comment ? (JSON.parse(comment) as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

async function dropOn(client: pg.Client, name: string): Promise<void> {
  const { rows } = await client.query<{ v: number }>(`SELECT current_setting('server_version_num')::int AS v`);
  if (rows[0].v >= 130000) {
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    return;
  }
  await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
  await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)}`);
}

/** Drops the scratch databases that runs now gone left behind; returns their names. */
export async function sweepScratchDatabases(server: DatabaseTarget, operation: string): Promise<string[]> {
  return withClient(server, { operation }, async (client) => {
    const { rows } = await client.query<Found>(
      `SELECT datname AS name, shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname LIKE 'tidemark\\_scratch\\_%'`);
    const dropped: string[] = [];
    for (const found of rows.filter((r) => isAbandoned(r))) {
      // Another run may be sweeping the same leftover: whoever drops it first wins.
      await dropOn(client, found.name).then(() => dropped.push(found.name), () => undefined);
    }
    return dropped;
  }).catch((err) => { throw scratchError(operation, err); });
}

/** Creates an empty scratch database (from template0) on the server, labelled with its purpose and creation time. */
export async function createScratchDatabase(server: DatabaseTarget, purpose: string, operation: string): Promise<ScratchDatabase> {
  const name = scratchName();
  const comment = JSON.stringify({ tidemark: 'scratch', purpose, pid: process.pid, created: new Date().toISOString() });
  await withClient(server, { operation }, async (client) => {
    await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)} TEMPLATE template0`);
    await client.query(`COMMENT ON DATABASE ${pg.escapeIdentifier(name)} IS ${pg.escapeLiteral(comment)}`);
    // Nothing in a scratch database has to survive a crash of the server: its commits need not wait for the disk.
    await client.query(`ALTER DATABASE ${pg.escapeIdentifier(name)} SET synchronous_commit = off`);
  }).catch((err) => {
    throw scratchError(operation, err, 'the user of the URL needs CREATEDB on this server (migrate:verify can also make it on another: --server URL)');
  });
  return { name, target: targetFor(server, name) };
}

/** Drops a scratch database, ending the sessions still in it; resolves false when it could not. */
export async function dropScratchDatabase(server: DatabaseTarget, name: string): Promise<boolean> {
  return withClient(server, { operation: `drop scratch database ${name}` }, (client) => dropOn(client, name)).then(() => true, () => false);
}

/** Runs fn with a new scratch database, dropping it afterwards whatever fn does; leftovers of dead runs go first. */
export async function withScratchDatabase<T>(server: DatabaseTarget, purpose: string, operation: string, fn: (scratch: ScratchDatabase) => Promise<T>): Promise<T> {
  await sweepScratchDatabases(server, operation);
  const scratch = await createScratchDatabase(server, purpose, operation);
  try {
    return await fn(scratch);
  } finally {
    await dropScratchDatabase(server, scratch.name);
  }
}
