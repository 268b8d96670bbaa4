import type pg from 'pg';
import { TidemarkError } from '../errors.js';
import { describePgError, isPgError, type SqlContext } from '../pg-errors.js';
import { insertHistorySql, type ExecutionMode } from '../state/history.js';
import { setVersionSql, type StateTables } from '../state/tables.js';
import { managesOwnTransaction, splitStatements, SqlSyntaxError, wantsNoTransaction } from '../sql/split.js';
import type { Step } from './plan.js';

export interface StepResult {
  step: Step;
  mode: ExecutionMode;
  durationMs: number;
}

export interface ExecutionTarget {
  client: pg.Client;
  tables: StateTables;
}

const BEGIN = 'BEGIN;\n';
// PostgreSQL refuses some statements inside a transaction block (CREATE INDEX CONCURRENTLY, VACUUM...).
const ACTIVE_SQL_TRANSACTION = '25001';

export function describeStep(step: Step): string {
  const verb = step.direction === 'up' ? 'apply' : 'roll back';
  return `${verb} migration ${step.version} (${step.script.fileName})`;
}

function versionLabel(version: bigint | null): string {
  return version === null ? 'none' : String(version);
}

function stepError(step: Step, cause: string, dirtyAt: bigint | null | undefined, err?: unknown): TidemarkError {
  const dirty = dirtyAt !== undefined;
  const hint = dirty
    ? `the database is now dirty at version ${versionLabel(dirtyAt)}: nothing after the failed statement ran. Repair the schema by hand, then mark the real state with \`task migrate:force -- ${step.direction === 'up' ? versionLabel(step.fromVersion ?? -1n) : step.version}\` (before this migration) or \`-- ${versionLabel(dirtyAt ?? -1n)}\` (after it)`
    : `nothing was changed: the transaction was rolled back and the database is still at version ${versionLabel(step.fromVersion)}, not dirty`;
  return new TidemarkError(step.direction === 'up' ? 'MIGRATION_UP_FAILED' : 'MIGRATION_DOWN_FAILED', 'migration failed', {
    operation: describeStep(step),
    cause,
    hint,
    data: { version: step.version.toString(), file: step.script.fileName, dirty },
  }, { cause: err });
}

function versionAndHistorySql(target: ExecutionTarget, step: Step, mode: ExecutionMode, checksum: string, durationMs: number | 'transaction'): string {
  const parts = step.outOfOrder ? [] : [setVersionSql(target.tables, step.toVersion, false)];
  parts.push(insertHistorySql(target.tables, {
    version: step.version, name: step.name, direction: step.direction, fromVersion: step.fromVersion, toVersion: step.toVersion, checksum, mode, durationMs,
  }));
  return parts.join(';\n');
}

/** The file, its version row and its history row: one transaction, one round trip. */
async function runInTransaction(target: ExecutionTarget, step: Step, sql: string, checksum: string): Promise<'done' | 'needs-unwrapped'> {
  const text = `${BEGIN}${sql}\n;\n${versionAndHistorySql(target, step, 'transaction', checksum, 'transaction')};\nCOMMIT;`;
  try {
    await target.client.query(text);
    return 'done';
  } catch (err) {
    await target.client.query('ROLLBACK').catch(() => undefined);
    if (isPgError(err) && err.code === ACTIVE_SQL_TRANSACTION) return 'needs-unwrapped';
    const ctx: SqlContext = isPgError(err) && !err.position ? await locateFailure(target.client, sql) : { sql, offset: BEGIN.length };
    throw stepError(step, describePgError(err, ctx), undefined, err);
  }
}

const DIAGNOSIS_TIMEOUT = '10s';

/**
 * PostgreSQL gives no position for errors such as "relation already exists".
 * To name the line, the file's statements are replayed one by one in a
 * transaction that is always rolled back, until one fails. Costs a second run
 * of the file, and only when a migration has already failed.
 */
async function locateFailure(client: pg.Client, sql: string): Promise<SqlContext> {
  const statements = await splitStatements(sql).catch(() => []);
  if (statements.length <= 1) return statements.length ? { sql: statements[0].text, firstLine: statements[0].line } : { sql };
  try {
    await client.query(`BEGIN; SET LOCAL statement_timeout = '${DIAGNOSIS_TIMEOUT}'`);
    for (const statement of statements) {
      try {
        await client.query(statement.text);
      } catch (err) {
        // A statement cut short by the timeout is not the one that failed.
        return isPgError(err) && err.code === '57014' ? { sql } : { sql: statement.text, firstLine: statement.line };
      }
    }
    return { sql };
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
  }
}

async function markDirty(target: ExecutionTarget, step: Step): Promise<bigint | null> {
  const dirtyAt = step.outOfOrder ? step.fromVersion : step.toVersion;
  await target.client.query(`${BEGIN}${setVersionSql(target.tables, dirtyAt, true)};\nCOMMIT;`);
  return dirtyAt;
}

/** golang-migrate's protocol for what cannot be wrapped: mark dirty, run, clear dirty. */
async function runWithDirtyProtocol(target: ExecutionTarget, step: Step, mode: ExecutionMode, checksum: string, run: () => Promise<void>): Promise<void> {
  const dirtyAt = await markDirty(target, step).catch((err) => {
    throw stepError(step, `cannot mark the version dirty before running: ${describePgError(err)}`, undefined, err);
  });
  const started = performance.now();
  try {
    await run();
  } catch (err) {
    await target.client.query('ROLLBACK').catch(() => undefined);
    if (err instanceof StatementError) throw stepError(step, err.message, dirtyAt, err.cause);
    throw stepError(step, describePgError(err), dirtyAt, err);
  }
  const durationMs = performance.now() - started;
  await target.client.query(`${BEGIN}${versionAndHistorySql(target, step, mode, checksum, durationMs)};\nCOMMIT;`).catch((err) => {
    throw stepError(step, `the migration ran, but recording it failed: ${describePgError(err)}`, dirtyAt, err);
  });
}

class StatementError extends Error {}

async function runStatements(client: pg.Client, sql: string, step: Step): Promise<() => Promise<void>> {
  let statements;
  try {
    statements = await splitStatements(sql);
  } catch (err) {
    if (err instanceof SqlSyntaxError) {
      throw stepError(step, `${err.message}${err.line ? ` (line ${err.line})` : ''}; nothing was run`, undefined, err);
    }
    throw err;
  }
  return async () => {
    for (const [index, statement] of statements.entries()) {
      try {
        await client.query(statement.text);
      } catch (err) {
        const ctx: SqlContext = { sql: statement.text, firstLine: statement.line };
        const done = index === 0 ? 'no statement before it ran' : index === 1 ? 'statement 1 ran and stays applied' : `statements 1-${index} ran and stay applied`;
        throw new StatementError(`statement ${index + 1} of ${statements.length}: ${describePgError(err, ctx)}\n${done}`, { cause: err });
      }
    }
  };
}

/**
 * Tries the file in a transaction. A file that PostgreSQL refuses to run in a
 * transaction block is, when it is a single statement, run as golang-migrate
 * runs it; several statements need the no-transaction marker, since sent as
 * one unit they would fail the same way.
 */
async function needsUnwrapped(target: ExecutionTarget, step: Step, sql: string, checksum: string): Promise<boolean> {
  if ((await runInTransaction(target, step, sql, checksum)) === 'done') return false;
  const statements = await splitStatements(sql).catch(() => []);
  if (statements.length > 1) {
    throw stepError(step, `a statement in this file cannot run inside a transaction block (SQLSTATE ${ACTIVE_SQL_TRANSACTION}), and the file has ${statements.length} statements`,
      undefined).withHint(`nothing was changed. Put \`-- tidemark:no-transaction\` on the first line of ${step.script.fileName} to run its statements one by one`);
  }
  return true;
}

export async function executeStep(target: ExecutionTarget, step: Step): Promise<StepResult> {
  const { sql, checksum } = await step.script.load();
  const started = performance.now();
  let mode: ExecutionMode;
  if (wantsNoTransaction(sql)) {
    mode = 'no-transaction';
    const run = await runStatements(target.client, sql, step);
    await runWithDirtyProtocol(target, step, mode, checksum, run);
  } else if (await managesOwnTransaction(sql) || (await needsUnwrapped(target, step, sql, checksum))) {
    mode = 'unwrapped';
    await runWithDirtyProtocol(target, step, mode, checksum, async () => {
      await target.client.query(sql);
    });
  } else {
    mode = 'transaction';
  }
  return { step, mode, durationMs: performance.now() - started };
}
