/** CREATE INDEX, DROP INDEX, REINDEX without CONCURRENTLY, and CONCURRENTLY where a transaction refuses it. */
import { lockClaim } from '../locks.js';
import { nameListKey, nameListSql, relationSql } from '../names.js';
import type { PgNode } from '../parse.js';
import type { CheckContext } from '../state.js';
import { isConcurrentReindex } from '../statement-lock.js';
import type { Draft } from '../types.js';

const NO_TRANSACTION = '-- tidemark:no-transaction';
const OWN_FILE = `in a migration file of its own whose first line is ${NO_TRANSACTION} (CONCURRENTLY cannot run in a transaction); `
  + 'if it fails it leaves an INVALID index: drop that with DROP INDEX CONCURRENTLY and run it again';

/** The statement's text with CONCURRENTLY after its leading words (`CREATE UNIQUE INDEX`, `DROP INDEX`, `REINDEX TABLE`). */
export function withConcurrently(text: string, leading: RegExp): string | undefined {
  const match = leading.exec(text);
  return match ? `${text.slice(0, match[0].length)} CONCURRENTLY${text.slice(match[0].length)}` : undefined;
}

function inNoTransactionFile(sql: string | undefined): string | undefined {
  return sql && `${NO_TRANSACTION}\n${sql.replace(/;?\s*$/, ';')}`;
}

export function checkCreateIndex(ctx: CheckContext): Draft[] {
  const node = ctx.statement.node;
  if (node.concurrent) return concurrentlyInTransaction(ctx, 'CREATE INDEX CONCURRENTLY');
  if (ctx.run.isNew(node.relation)) return [];
  const table = relationSql(node.relation);
  return [{
    rule: 'index-not-concurrent', table,
    message: `CREATE INDEX on ${table} without CONCURRENTLY holds a SHARE lock for the whole build`,
    lock: lockClaim('SHARE', table), rewrite: 'no', scan: 'yes',
    safe: `build it with CREATE INDEX CONCURRENTLY, which lets reads and writes go on, ${OWN_FILE}`,
    safeSql: inNoTransactionFile(withConcurrently(ctx.statement.text, /^CREATE\s+(UNIQUE\s+)?INDEX/i)),
  }];
}

export async function checkDropIndex(ctx: CheckContext): Promise<Draft[]> {
  const node = ctx.statement.node;
  if (node.concurrent) return concurrentlyInTransaction(ctx, 'DROP INDEX CONCURRENTLY');
  const indexes = (node.objects as PgNode[]).map((o) => o.List.items as PgNode[]);
  const existing = indexes.filter((items) => !ctx.run.createdIndexes.has(nameListKey(items)));
  if (!existing.length) return [];
  const name = nameListSql(existing[0]);
  const table = (await ctx.catalog?.indexTable(name)) ?? undefined;
  const single = indexes.length === 1 && node.behavior !== 'DROP_CASCADE';
  return [{
    rule: 'drop-index-not-concurrent', table,
    message: `DROP INDEX ${name} without CONCURRENTLY takes ACCESS EXCLUSIVE on ${table ?? 'its table'}: every query on the table waits for it, and it waits for every running one`,
    lock: lockClaim('ACCESS EXCLUSIVE', table ?? name), rewrite: 'no', scan: 'no',
    safe: `drop it with DROP INDEX CONCURRENTLY (one index a statement, no CASCADE), ${OWN_FILE.split(';')[0]}`,
    safeSql: single ? inNoTransactionFile(withConcurrently(ctx.statement.text, /^DROP\s+INDEX/i)) : undefined,
  }];
}

export function checkReindex(ctx: CheckContext): Draft[] {
  const node = ctx.statement.node;
  if (isConcurrentReindex(node)) return concurrentlyInTransaction(ctx, 'REINDEX CONCURRENTLY');
  if (node.relation && ctx.run.isNew(node.relation)) return [];
  const target = node.relation ? relationSql(node.relation) : (node.name as string | undefined) ?? 'the database';
  const table = node.kind === 'REINDEX_OBJECT_TABLE' ? target : undefined;
  const concurrent = ctx.pgVersion >= 12;
  return [{
    rule: 'reindex-not-concurrent', table,
    message: `REINDEX of ${target} without CONCURRENTLY blocks writes to the table, and reads that would use the index, for the whole rebuild`,
    lock: lockClaim('SHARE', target), rewrite: 'no', scan: 'yes',
    safe: concurrent
      ? `rebuild with REINDEX ... CONCURRENTLY ${OWN_FILE.split(';')[0]}`
      : `before PostgreSQL 12 there is no REINDEX CONCURRENTLY: CREATE INDEX CONCURRENTLY a copy, then DROP INDEX CONCURRENTLY the old one, ${OWN_FILE.split(';')[0]}`,
    safeSql: concurrent ? inNoTransactionFile(withConcurrently(ctx.statement.text, /^REINDEX(\s*\([^)]*\))?\s+(INDEX|TABLE|SCHEMA|DATABASE|SYSTEM)/i)) : undefined,
  }];
}

/** DETACH PARTITION ... CONCURRENTLY in an ALTER TABLE. */
export function checkDetachConcurrently(ctx: CheckContext): Draft[] {
  const cmds = (ctx.statement.node.cmds ?? []) as PgNode[];
  const detaches = cmds.some((c) => c.AlterTableCmd.subtype === 'AT_DetachPartition' && c.AlterTableCmd.def?.PartitionCmd?.concurrent);
  return detaches ? concurrentlyInTransaction(ctx, 'DETACH PARTITION CONCURRENTLY') : [];
}

function concurrentlyInTransaction(ctx: CheckContext, what: string): Draft[] {
  if (!ctx.file.inTransaction) return [];
  const where = ctx.file.mode === 'transaction' ? 'this file runs in a transaction' : 'it stands between BEGIN and COMMIT';
  return [{
    rule: 'concurrently-in-transaction',
    message: `${what} cannot run inside a transaction block, and ${where}: the migration will fail`,
    rewrite: 'no', scan: 'no',
    safe: `move it to a migration file of its own whose first line is ${NO_TRANSACTION}; the runner then runs each statement on its own`,
    safeSql: inNoTransactionFile(ctx.statement.text),
  }];
}
