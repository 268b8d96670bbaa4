/**
 * `migrate:verify`: proves, in a scratch database, that every down file
 * undoes its up. The configured database is only read (which migrations are
 * pending); everything runs in a database made for the run and dropped after
 * it, also when the run is interrupted.
 */
import type { Settings } from '../config.js';
import type { DatabaseTarget } from '../connection-string.js';
import { closeConnection } from '../connection-close.js';
import { connect } from '../db/connect.js';
import { createScratchDatabase, dropScratchDatabase, sweepScratchDatabases, type ScratchDatabase } from '../db/scratch.js';
import { TidemarkError, abortSignalName, interruptedError } from '../errors.js';
import { readMigrationDir } from '../migrate/source/index.js';
import type { Migration, MigrationSet } from '../migrate/source/types.js';
import { withSession, type Session } from '../migrate/runner/session.js';
import { loadState, prepareForWrite } from '../migrate/runner/state.js';
import { describeStartingPoint, prepareStartingPoint, type StartingPoint } from './starting-point.js';
import { applyUnchecked, canContinue, checkMigration, type Finding, type MigrationCheck } from './check.js';
import { checkRange, pendingVersions, planMigrations, versionsInRange, type PlannedMigration, type RangeOptions } from './range.js';
import { startDdlLog } from './ddl-log.js';
import { WholeSnapshots, type SchemaSnapshots, type SnapshotDifference } from './snapshots.js';
import { TrackedSnapshots } from './tracked-snapshots.js';
import { describeChange } from '../schema/diff.js';

export type { Finding, MigrationCheck, CheckStatus } from './check.js';

export interface VerifyOptions extends RangeOptions {
  /** The server for the scratch database (default: the configured database's server). */
  server?: DatabaseTarget;
  /** Start from the schema of this backup (any custom-format dump; schema only) instead of an empty database. */
  schemaFrom?: string;
  /** Start from the schema of this database (read with pg_dump --schema-only; read-only access is enough). */
  schemaFromDatabase?: DatabaseTarget;
  /** Compare object owners too. */
  owners?: boolean;
  /** Read the whole schema at every turn instead of what each step changed (as when the scratch database's DDL record cannot be kept). */
  readWhole?: boolean;
  source?: MigrationSet;
  /** Aborting stops the run; the scratch database is dropped before the INTERRUPTED error is thrown. */
  signal?: AbortSignal;
  onEvent?: (event: VerifyEvent) => void;
}

export type VerifyEvent =
  | { type: 'scratch'; database: string; swept: string[] }
  | { type: 'checked'; check: MigrationCheck; index: number; total: number }
  /** The DDL record missed changes; the checks start again, reading the whole schema. */
  | { type: 'missed'; differences: string[] };

export interface VerifyReport {
  ok: boolean;
  /** The scratch databases the run used, all dropped (a new one after each file that failed). */
  scratchDatabases: string[];
  startingPoint: string;
  checks: MigrationCheck[];
  passed: bigint[];
  /** Versions in range left unchecked: those after a migration whose up fails the first time. */
  notChecked: bigint[];
  findings: Finding[];
  /** How the schema was read: what each step changed (`changes`), or whole at every turn. */
  schemaReads: 'changes' | 'whole';
  /** Changes the DDL record missed (found by a whole reading at the end), after which the run was repeated reading whole. */
  missedChanges: string[];
  durationMs: number;
}

const operation = 'verify migrations';

async function chooseVersions(settings: Settings, source: MigrationSet, options: VerifyOptions): Promise<Set<bigint>> {
  if (options.all || options.from !== undefined || options.to !== undefined) return versionsInRange(source, options);
  return pendingVersions(settings, source, `${operation}: read the pending migrations`);
}

function startingPoint(options: VerifyOptions): StartingPoint {
  if (options.schemaFrom !== undefined && options.schemaFromDatabase) {
    throw new TidemarkError('INVALID_ARGUMENT', 'invalid starting point', { operation, cause: 'give --schema-from FILE or --schema-from-database URL, not both' });
  }
  if (options.schemaFrom !== undefined) return { kind: 'backup', file: options.schemaFrom };
  return options.schemaFromDatabase ? { kind: 'database', source: options.schemaFromDatabase } : { kind: 'empty' };
}

interface Walk {
  checks: MigrationCheck[];
  readWhole: boolean;
  /** What the snapshots failed to see, in words. */
  missed: string[];
  /** The index in the plan of a check after which this scratch database is no use (a file failed in it). */
  failedAt?: number;
}

/** Consecutive unchecked migrations go in one run; each checked one on its own. */
async function walk(session: Session, snapshots: SchemaSnapshots, planned: PlannedMigration[], options: VerifyOptions, progress: Progress): Promise<Omit<Walk, 'readWhole' | 'missed'>> {
  const checks: MigrationCheck[] = [];
  let below = (await prepareForWrite(session, await loadState(session))).state.version;
  let pendingApply: Migration[] = [];
  let snapshotStale = true;
  for (const [i, p] of planned.entries()) {
    if (!p.check) {
      pendingApply.push(p.migration);
      continue;
    }
    if (pendingApply.length) {
      await applyUnchecked(session, pendingApply, below, options.signal);
      below = pendingApply.at(-1)!.version;
      pendingApply = [];
      snapshotStale = true;
    }
    if (snapshotStale) await snapshots.take('fp_before');
    snapshotStale = false;
    const check = await checkMigration({ session, snapshots, signal: options.signal }, p.migration, below);
    checks.push(check);
    options.onEvent?.({ type: 'checked', check, index: progress.done++, total: progress.total });
    if (!canContinue(check)) return { checks, failedAt: i };
    below = p.migration.version;
  }
  return { checks };
}

interface Progress {
  done: number;
  total: number;
}

async function verifyIn(settings: Settings, scratch: ScratchDatabase, source: MigrationSet, planned: PlannedMigration[], options: VerifyOptions, progress: Progress): Promise<Walk> {
  await prepareStartingPoint(settings, startingPoint(options), scratch.target, options.signal);
  const scratchSettings: Settings = { ...settings, database: scratch.target };
  return withSession(scratchSettings, { source, lock: false, operation, signal: options.signal }, async (session) => {
    const client = await connect(scratch.target, { operation: `${operation}: read the scratch schema` });
    try {
      const catalog = { owners: options.owners, exclude: [session.tables.version, session.tables.history] };
      const tracked = !options.readWhole && (await startDdlLog(client));
      const snapshots = tracked ? new TrackedSnapshots(client, catalog) : new WholeSnapshots(client, catalog);
      await snapshots.start();
      const result = await walk(session, snapshots, planned, options, progress);
      return { ...result, readWhole: !tracked, missed: inWords(await snapshots.missed()) };
    } finally {
      await closeConnection(client);
    }
  });
}

function inWords(missed: SnapshotDifference[]): string[] {
  return missed.flatMap((d) => describeChange(d.change, { before: 'as tracked', after: 'as read whole' }));
}

/** One scratch database, dropped whatever happens in it. */
async function inScratch(settings: Settings, server: DatabaseTarget, swept: string[], options: VerifyOptions, run: (scratch: ScratchDatabase) => Promise<Walk>): Promise<Walk> {
  if (options.signal?.aborted) throw interruptedError(abortSignalName(options.signal), operation, 'the scratch databases were dropped; the configured database was not changed');
  const scratch = await createScratchDatabase(server, 'migrate:verify', `${operation}: create a scratch database`);
  options.onEvent?.({ type: 'scratch', database: scratch.name, swept });
  let result: Walk;
  try {
    result = await run(scratch);
  } catch (err) {
    const dropped = await dropScratchDatabase(server, scratch.name);
    if (options.signal?.aborted) throw interrupted(options, scratch.name, dropped);
    throw err;
  }
  await dropScratchDatabase(server, scratch.name);
  return result;
}

/**
 * After a file failed, the schema left in the scratch database says nothing
 * about the next migration: the rest is checked in a new one, built up to
 * and including the failed migration. A migration whose up fails the first
 * time ends the run: those after it build on it.
 */
interface Checked {
  checks: MigrationCheck[];
  notChecked: bigint[];
  readWhole: boolean;
  missed: string[];
}

async function checkAll(settings: Settings, server: DatabaseTarget, swept: string[], source: MigrationSet, planned: PlannedMigration[], options: VerifyOptions): Promise<Checked> {
  const progress: Progress = { done: 0, total: planned.filter((p) => p.check).length };
  const checked: Checked = { checks: [], notChecked: [], readWhole: false, missed: [] };
  let plan = planned;
  for (let first = true; ; first = false) {
    const result = await inScratch(settings, server, first ? swept : [], options, (scratch) => verifyIn(settings, scratch, source, plan, options, progress));
    checked.checks.push(...result.checks);
    checked.readWhole ||= result.readWhole;
    checked.missed.push(...result.missed);
    const failedAt = result.failedAt;
    if (failedAt === undefined || failedAt === plan.length - 1) return checked;
    if (result.checks.at(-1)!.status === 'first-up-failed') {
      return { ...checked, notChecked: plan.slice(failedAt + 1).filter((p) => p.check).map((p) => p.migration.version) };
    }
    plan = plan.map((p, i) => (i <= failedAt ? { ...p, check: false } : p));
  }
}

function interrupted(options: VerifyOptions, scratch: string, dropped: boolean): TidemarkError {
  const state = dropped ? `the scratch database ${scratch} was dropped` : `the scratch database ${scratch} could not be dropped; the next run drops it`;
  return interruptedError(abortSignalName(options.signal), operation, `${state}; the configured database was not changed`);
}

function report(scratch: string[], options: VerifyOptions, result: Checked, missed: string[], started: number): VerifyReport {
  const findings = result.checks.flatMap((c) => c.findings);
  return {
    ok: findings.length === 0, scratchDatabases: scratch, startingPoint: describeStartingPoint(startingPoint(options)),
    checks: result.checks, passed: result.checks.filter((c) => c.status === 'passed').map((c) => c.version),
    notChecked: result.notChecked, findings, schemaReads: result.readWhole ? 'whole' : 'changes', missedChanges: missed,
    durationMs: performance.now() - started,
  };
}

/** Checks that each migration in range reverses: see README, `migrate:verify`. */
export async function verifyMigrations(settings: Settings, options: VerifyOptions = {}): Promise<VerifyReport> {
  const started = performance.now();
  checkRange(options, operation);
  const start = startingPoint(options);
  const source = options.source ?? (await readMigrationDir(settings.migrations.dir));
  const planned = planMigrations(source, await chooseVersions(settings, source, options), start.kind !== 'empty');
  const server = options.server ?? settings.database;
  const swept = await sweepScratchDatabases(server, `${operation}: drop leftover scratch databases`);
  const scratchNames: string[] = [];
  const run = (readWhole: boolean) => checkAll(settings, server, swept, source, planned, {
    ...options, readWhole, onEvent: (event) => {
      if (event.type === 'scratch') scratchNames.push(event.database);
      options.onEvent?.(event);
    },
  });
  const result = await run(options.readWhole ?? false);
  if (!result.missed.length) return report(scratchNames, options, result, [], started);
  // Never trusted when the record missed something: the same checks again, reading whole.
  options.onEvent?.({ type: 'missed', differences: result.missed });
  return report(scratchNames, options, await run(true), result.missed, started);
}
