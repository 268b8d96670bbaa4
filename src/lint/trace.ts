/**
 * migrate:lint --trace: the linted migrations are run on a scratch database
 * as the runner would run them, statement by statement, and what the server
 * really did is read back after each statement: the table locks held (the
 * strongest mode on each table in pg_locks of its own backend: in a file
 * that is one transaction, the locks earlier statements took are still
 * held, as they are when the runner applies it), the tables rewritten
 * (relfilenode changed), scanned (the transaction's sequential scan count)
 * and the constraints validated. Outside a transaction (a no-transaction
 * file, a file with its own BEGIN/COMMIT) locks and scans end with each
 * statement and cannot be read: only rewrites and validations are known.
 */
import pg from 'pg';
import type { Settings } from '../config.js';
import { cancelBackend, connect } from '../db/connect.js';
import { withScratchDatabase } from '../db/scratch.js';
import { closeConnection } from '../connection-close.js';
import { abortSignalName, describeCause, interruptedError, isTidemarkError } from '../errors.js';
import { readMigrationDir, type MigrationSet } from '../migrate/source/index.js';
import { migrateStatus } from '../migrate/commands/status.js';
import { wantsNoTransaction } from '../sql/split.js';
import type { ScriptInput } from './linter.js';
import { LOCK_MODES, strongerLock, type LockMode } from './locks.js';
import { parseScript, type ParsedStatement } from './parse.js';

export interface TracedStatement {
  file: string;
  line: number;
  column: number;
  /** Whether the statement ran in a transaction of its own, where its locks could be read. */
  locksSeen: boolean;
  /** The strongest table lock the statement took on each table (tables as `name`, or `schema.name` outside public). */
  locks: Record<string, LockMode>;
  rewritten: string[];
  scanned: string[];
  /** Constraints that became valid, as `table.constraint`. */
  validated: string[];
  /** The table of each index there was before the statement: a claim may name the index it rebuilds. */
  indexes: Record<string, string>;
  /** The statement failed on the scratch database: nothing else is known of it. */
  error?: string;
}

export interface TraceOptions {
  /** Migrations from elsewhere than the configured directory. */
  source?: MigrationSet;
  signal?: AbortSignal;
}

interface Snapshot {
  /** oid → [name, relfilenode] of every user table and materialized view. */
  tables: Map<number, [string, string]>;
  /** index name → its table's name. */
  indexes: Record<string, string>;
  scans: Map<number, number>;
  valid: Set<string>;
}

const TABLES_SQL = `
  SELECT c.oid::int AS oid,
         CASE WHEN n.nspname = 'public' THEN c.relname ELSE n.nspname || '.' || c.relname END AS name,
         c.relfilenode::text AS filenode,
         coalesce(pg_stat_get_xact_numscans(c.oid), 0)::int AS scans
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'`;

const INDEXES_SQL = `
  SELECT CASE WHEN n.nspname = 'public' THEN ic.relname ELSE n.nspname || '.' || ic.relname END AS index,
         CASE WHEN n.nspname = 'public' THEN tc.relname ELSE n.nspname || '.' || tc.relname END AS table
    FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class tc ON tc.oid = i.indrelid JOIN pg_namespace n ON n.oid = ic.relnamespace
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'`;

const VALID_SQL = `
  SELECT CASE WHEN n.nspname = 'public' THEN c.relname ELSE n.nspname || '.' || c.relname END || '.' || k.conname AS name
    FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE k.convalidated AND k.contype IN ('c', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema')`;

const LOCKS_SQL = `
  SELECT l.relation::int AS oid, l.mode FROM pg_locks l
   WHERE l.pid = pg_backend_pid() AND l.granted AND l.locktype = 'relation' AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`;

async function snapshot(client: pg.Client): Promise<Snapshot> {
  // One after the other: a connection runs one query at a time.
  const tables = await client.query(TABLES_SQL);
  const indexes = await client.query(INDEXES_SQL);
  const valid = await client.query(VALID_SQL);
  return {
    tables: new Map(tables.rows.map((r) => [r.oid as number, [r.name as string, r.filenode as string]])),
    indexes: Object.fromEntries(indexes.rows.map((r) => [r.index as string, r.table as string])),
    scans: new Map(tables.rows.map((r) => [r.oid as number, r.scans as number])),
    valid: new Set(valid.rows.map((r) => r.name as string)),
  };
}

/** `AccessExclusiveLock` → `ACCESS EXCLUSIVE`. */
function lockMode(mode: string): LockMode | undefined {
  const words = mode.replace(/Lock$/, '').replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase();
  return (LOCK_MODES as readonly string[]).includes(words) ? (words as LockMode) : undefined;
}

async function heldLocks(client: pg.Client, before: Snapshot): Promise<Record<string, LockMode>> {
  const { rows } = await client.query(LOCKS_SQL);
  const locks: Record<string, LockMode> = {};
  for (const row of rows) {
    // Only tables that were there before the statement: a lock on one it created, or on an index, is no claim's concern.
    const name = before.tables.get(row.oid as number)?.[0];
    const mode = lockMode(row.mode as string);
    if (name && mode) locks[name] = strongerLock(locks[name], mode);
  }
  return locks;
}

function changes(before: Snapshot, after: Snapshot): Pick<TracedStatement, 'rewritten' | 'scanned' | 'validated'> {
  const rewritten: string[] = [];
  const scanned: string[] = [];
  for (const [oid, [name, filenode]] of before.tables) {
    const now = after.tables.get(oid);
    if (now && now[1] !== filenode) rewritten.push(name);
    if ((after.scans.get(oid) ?? 0) > (before.scans.get(oid) ?? 0)) scanned.push(name);
  }
  return { rewritten, scanned, validated: [...after.valid].filter((c) => !before.valid.has(c)) };
}

type Place = Pick<TracedStatement, 'file' | 'line' | 'column'>;

function failed(place: Place, err: unknown): TracedStatement {
  return { ...place, locksSeen: false, locks: {}, rewritten: [], scanned: [], validated: [], indexes: {}, error: describeCause(err) };
}

/** One statement of a file that runs in one transaction: under a savepoint, so that a failure leaves the rest traceable. */
async function traceInTransaction(client: pg.Client, place: Place, statement: ParsedStatement): Promise<TracedStatement> {
  await client.query('SAVEPOINT tidemark_trace');
  const before = await snapshot(client);
  try {
    await client.query(statement.text);
  } catch (err) {
    await client.query('ROLLBACK TO SAVEPOINT tidemark_trace');
    return failed(place, err);
  }
  const locks = await heldLocks(client, before);
  const after = await snapshot(client);
  await client.query('RELEASE SAVEPOINT tidemark_trace');
  const seen = changes(before, after);
  // TRUNCATE rebuilds the table's indexes over its new, empty heap: a scan of nothing, not of the data.
  if (statement.kind === 'TruncateStmt') seen.scanned = [];
  return { ...place, locksSeen: true, locks, indexes: before.indexes, ...seen };
}

/** One statement on its own (autocommit): its locks and scan counts are gone when it returns. */
async function traceAlone(client: pg.Client, place: Place, statement: ParsedStatement): Promise<TracedStatement> {
  const before = await snapshot(client);
  try {
    await client.query(statement.text);
  } catch (err) {
    return failed(place, err);
  }
  const { scanned: _gone, ...rest } = changes(before, await snapshot(client));
  return { ...place, locksSeen: false, locks: {}, scanned: [], indexes: before.indexes, ...rest };
}

/** A file as the runner runs it: one transaction, unless it says no-transaction or runs its own BEGIN/COMMIT. */
async function traceFile(client: pg.Client, script: ScriptInput, check: () => void): Promise<TracedStatement[]> {
  const { statements } = await parseScript(script.sql);
  const traced: TracedStatement[] = [];
  const inOne = !wantsNoTransaction(script.sql) && !statements.some((s) => s.kind === 'TransactionStmt');
  if (inOne) await client.query('BEGIN');
  try {
    for (const statement of statements) {
      check();
      const place = { file: script.file, line: statement.line, column: statement.column };
      traced.push(await (inOne ? traceInTransaction(client, place, statement) : traceAlone(client, place, statement)));
      // A statement the interrupt cancelled failed for that reason, not its own.
      check();
    }
    if (inOne) await client.query('COMMIT');
  } catch (err) {
    if (inOne) await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return traced;
}

/** A migration as the runner would apply it, without tracing: the starting point of the trace. */
async function applyPlain(client: pg.Client, sql: string): Promise<void> {
  const { statements } = await parseScript(sql);
  if (wantsNoTransaction(sql)) {
    for (const s of statements) await client.query(s.text);
    return;
  }
  // A file with its own BEGIN/COMMIT is sent as it is, as the runner sends it.
  if (statements.some((s) => s.kind === 'TransactionStmt')) {
    await client.query(sql);
    return;
  }
  await client.query('BEGIN');
  try {
    await client.query(sql);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/**
 * The trace of every statement of `scripts`, in order, on a scratch
 * database of the configured server that first gets the configured
 * directory's migrations up to the database's current version (what
 * production has). The scratch database is dropped afterwards.
 */
export async function traceScripts(settings: Settings, scripts: ScriptInput[], options: TraceOptions = {}): Promise<{ traced: TracedStatement[]; startingVersion: bigint | null; notes: string[] }> {
  const source = options.source ?? (await readMigrationDir(settings.migrations.dir));
  const { version } = await migrateStatus(settings, { source });
  // What the database has, up to the first linted migration (all of it for files from elsewhere): a migration is never run twice.
  const linted = scripts.flatMap((s) => (s.version === undefined ? [] : [s.version]));
  const below = linted.length ? linted.reduce((a, b) => (b < a ? b : a)) : undefined;
  const applied = source.migrations.filter((m) => m.up && version !== null && m.version <= version && (below === undefined || m.version < below));
  const notes: string[] = [];
  const traced: TracedStatement[] = [];
  await withScratchDatabase(settings.database, 'lint-trace', 'trace migrations on a scratch database', async (scratch) => {
    const client = await connect(scratch.target, { operation: 'trace migrations on a scratch database' });
    // An interrupt cancels the statement running on the scratch database; the loop then stops with INTERRUPTED.
    const cancel = () => void cancelBackend(scratch.target, client);
    options.signal?.addEventListener('abort', cancel, { once: true });
    const interrupted = () => interruptedError(abortSignalName(options.signal), 'trace migrations', 'nothing was changed: the trace ran on a scratch database, which is dropped');
    const check = () => {
      if (options.signal?.aborted) throw interrupted();
    };
    try {
      for (const m of applied) {
        check();
        await applyPlain(client, m.up!.load().sql).catch((err) => {
          notes.push(`the trace's starting point is incomplete: ${m.up!.fileName} failed on the scratch database (${describeCause(err)})`);
        });
      }
      for (const script of scripts) traced.push(...(await traceFile(client, script, check)));
    } catch (err) {
      throw options.signal?.aborted && !isTidemarkError(err) ? interrupted() : err;
    } finally {
      options.signal?.removeEventListener('abort', cancel);
      await closeConnection(client);
    }
  });
  return { traced, startingVersion: applied.at(-1)?.version ?? null, notes };
}
