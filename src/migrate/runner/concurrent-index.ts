/**
 * CREATE INDEX CONCURRENTLY runs in several transactions: when its
 * lock_timeout ends a wait after the first one, the index it began stays
 * behind, INVALID (it costs every write to the table and answers no query).
 * Before each try the invalid indexes of the table are listed; after a try
 * that timed out, the invalid ones that were not there before are the ones
 * it left, and are dropped before the statement is tried again.
 *
 * Other statements that run in several transactions (REINDEX CONCURRENTLY,
 * DETACH PARTITION CONCURRENTLY) leave states that the same statement cannot
 * simply finish: they are not retried.
 */
import type pg from 'pg';
import { importExternal } from '../../import-external.js';

export interface IndexTarget {
  schema?: string;
  table: string;
  /** The index's name, when the statement gives one. */
  index?: string;
}

export type ConcurrentKind = { kind: 'create-index'; target: IndexTarget } | { kind: 'other'; statement: string } | { kind: 'none' };

const CONCURRENTLY = /\bconcurrently\b/i;

interface ParsedStmt {
  IndexStmt?: { concurrent?: boolean; idxname?: string; relation?: { schemaname?: string; relname: string } };
  ReindexStmt?: { params?: Array<{ DefElem?: { defname?: string } }> };
  AlterTableStmt?: { cmds?: Array<{ AlterTableCmd?: { subtype?: string; def?: { PartitionCmd?: { concurrent?: boolean } } } }> };
}

/** Whether a statement runs in several transactions, and for CREATE INDEX CONCURRENTLY its table and name. */
export async function concurrentKind(text: string): Promise<ConcurrentKind> {
  if (!CONCURRENTLY.test(text)) return { kind: 'none' };
  const { parse } = await importExternal<typeof import('libpg-query')>('libpg-query');
  const parsed = (await parse(text).catch(() => undefined)) as { stmts?: Array<{ stmt: ParsedStmt }> } | undefined;
  const stmt = parsed?.stmts?.[0]?.stmt;
  const index = stmt?.IndexStmt;
  if (index?.concurrent && index.relation) {
    return { kind: 'create-index', target: { schema: index.relation.schemaname, table: index.relation.relname, index: index.idxname } };
  }
  if (stmt?.ReindexStmt?.params?.some((p) => p.DefElem?.defname === 'concurrently')) return { kind: 'other', statement: 'REINDEX CONCURRENTLY' };
  const detach = stmt?.AlterTableStmt?.cmds?.some((c) => c.AlterTableCmd?.subtype === 'AT_DetachPartition' && c.AlterTableCmd.def?.PartitionCmd?.concurrent);
  return detach ? { kind: 'other', statement: 'DETACH PARTITION CONCURRENTLY' } : { kind: 'none' };
}

const INVALID_INDEXES_SQL = `SELECT i.indexrelid::regclass::text AS name
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE i.indrelid = to_regclass(CASE WHEN $1::text IS NULL THEN quote_ident($2) ELSE quote_ident($1) || '.' || quote_ident($2) END)
   AND NOT i.indisvalid AND ($3::text IS NULL OR c.relname = $3)
 ORDER BY 1`;

/** The table's invalid indexes (the one named, when the statement names it). */
export async function invalidIndexes(client: pg.Client, target: IndexTarget): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(INVALID_INDEXES_SQL, [target.schema ?? null, target.table, target.index ?? null]);
  return rows.map((r) => r.name);
}

/** Drops the invalid indexes a failed try left; the names come from regclass, quoted as needed. */
export async function dropIndexes(client: pg.Client, names: string[]): Promise<void> {
  for (const name of names) await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
}
