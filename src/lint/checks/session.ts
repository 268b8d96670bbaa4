/** What depends on the rest of the file: its lock_timeout, its transaction, the server's version. */
import { lockClaim, type LockMode } from '../locks.js';
import { relationKey, relationSql } from '../names.js';
import type { PgNode } from '../parse.js';
import type { CheckContext } from '../state.js';
import { statementLock, type StatementLock } from '../statement-lock.js';
import type { Draft } from '../types.js';

/** The lock, when it makes ordinary writes queue and is taken on a table that exists outside this run. */
export function blockingLockOnExisting(ctx: CheckContext): StatementLock | undefined {
  const lock = statementLock(ctx.statement);
  if (!lock || !lockClaim(lock.mode, '').blocksWrites) return undefined;
  const existing = lock.targets.filter((t) => (t.isIndex ? !ctx.run.createdIndexes.has(t.key) : !ctx.run.createdTables.has(t.key)));
  return existing.length ? { mode: lock.mode, targets: existing } : undefined;
}

export function checkLockTimeout(ctx: CheckContext): Draft[] {
  if (ctx.file.lockTimeoutSet || ctx.file.lockTimeoutReported || (ctx.runnerLockTimeoutMs ?? 0) > 0) return [];
  const lock = blockingLockOnExisting(ctx);
  if (!lock) return [];
  ctx.file.lockTimeoutReported = true;
  const on = lock.targets.map((t) => t.sql).join(', ');
  return [{
    rule: 'missing-lock-timeout', table: lock.targets[0].isIndex ? undefined : lock.targets[0].sql,
    message: `${lock.mode} on ${on} with no lock_timeout: while it waits behind any long query, every query on ${on} queues behind it`,
    lock: lockClaim(lock.mode, on), rewrite: 'no', scan: 'no',
    safe: 'set a short lock_timeout at the top of the file, so that the migration fails fast (and can be run again) rather than stall the application',
    safeSql: "SET lock_timeout = '5s';",
  }];
}

/** INSERT ... SELECT, UPDATE, DELETE (not INSERT ... VALUES: a few seed rows). */
export function dataChangeTarget(statement: { kind: string; node: PgNode }): PgNode | undefined {
  const { kind, node } = statement;
  if (kind === 'UpdateStmt' || kind === 'DeleteStmt') return node.relation;
  if (kind === 'InsertStmt' && node.selectStmt?.SelectStmt && !node.selectStmt.SelectStmt.valuesLists) return node.relation;
  return undefined;
}

function dataWithDdl(table: string, mode: LockMode, message: string): Draft {
  return {
    rule: 'data-update-with-ddl', table, message,
    lock: lockClaim(mode, table), rewrite: 'no', scan: 'yes',
    safe: 'keep data changes out of the DDL\'s transaction: a separate migration, or better a tidemark backfill in batches (task backfill:create -- NAME)',
  };
}

export function checkDataWithDdl(ctx: CheckContext): Draft[] {
  if (!ctx.file.inTransaction) return [];
  const target = dataChangeTarget(ctx.statement);
  if (target) {
    const key = relationKey(target);
    const mode = ctx.file.ddlTables.get(key);
    if (!mode || ctx.run.createdTables.has(key)) return [];
    const table = relationSql(target);
    return [dataWithDdl(table, mode, `${ctx.statement.kind.replace('Stmt', '').toUpperCase()} of ${table} in the same transaction as DDL on it: the DDL's lock is held until the update commits`)];
  }
  const lock = statementLock(ctx.statement);
  if (!lock || !lockClaim(lock.mode, '').blocksWrites) return [];
  const touched = lock.targets.find((t) => ctx.file.dataTables.has(t.key) && !ctx.run.createdTables.has(t.key));
  if (!touched) return [];
  return [dataWithDdl(touched.sql, lock.mode, `DDL on ${touched.sql} in the same transaction as a data change of it: the row locks of the change make the DDL wait, and the DDL's lock is held to the commit`)];
}

export function checkEnumAddValue(ctx: CheckContext): Draft[] {
  const node = ctx.statement.node;
  if (!node.newVal || !ctx.file.inTransaction || ctx.pgVersion >= 12) return [];
  return [{
    rule: 'enum-add-value-in-transaction',
    message: `ALTER TYPE ... ADD VALUE cannot run inside a transaction block on PostgreSQL ${ctx.pgVersion} (allowed from 12): the migration will fail`,
    rewrite: 'no', scan: 'no',
    safe: 'move it to a migration file of its own whose first line is -- tidemark:no-transaction',
    safeSql: `-- tidemark:no-transaction\n${ctx.statement.text.replace(/;?\s*$/, ';')}`,
  }];
}
