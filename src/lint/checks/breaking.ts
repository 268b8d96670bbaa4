/** Statements that break the code still deployed, lose data, or rewrite a table wholesale. */
import { lockClaim } from '../locks.js';
import { ident, nameListKey, nameListSql, relationSql } from '../names.js';
import type { PgNode } from '../parse.js';
import type { CheckContext } from '../state.js';
import { vacuumIsFull } from '../statement-lock.js';
import type { Draft } from '../types.js';

const EXPAND_CONTRACT = 'expand and contract: deploy code that no longer uses the old name first';

export function checkRename(ctx: CheckContext): Draft[] {
  const node = ctx.statement.node;
  if (!node.relation || ctx.run.isNew(node.relation)) return [];
  const table = relationSql(node.relation);
  const lock = lockClaim('ACCESS EXCLUSIVE', table);
  if (node.renameType === 'OBJECT_TABLE') {
    return [{
      rule: 'rename-table', table,
      message: `RENAME of table ${table} to ${ident(node.newname)} breaks every query of the code still deployed that names ${table}`,
      lock, rewrite: 'no', scan: 'no',
      safe: `${EXPAND_CONTRACT}; or rename it and leave a view by the old name for the old code (CREATE VIEW ${table} AS SELECT * FROM ${ident(node.newname)}), dropped once no code uses it`,
    }];
  }
  if (node.renameType === 'OBJECT_COLUMN') {
    return [{
      rule: 'rename-column', table,
      message: `RENAME of column ${table}.${ident(node.subname)} to ${ident(node.newname)} breaks every query of the code still deployed that names it`,
      lock, rewrite: 'no', scan: 'no',
      safe: `add the new column, write both from the code, backfill it, switch reads, then drop the old column in a later release (${EXPAND_CONTRACT})`,
    }];
  }
  return [];
}

function cascade(what: string): Draft {
  return {
    rule: 'drop-cascade',
    message: `${what} ... CASCADE also drops every view, constraint and default that depends on it, none of them named in the migration`,
    rewrite: 'no', scan: 'no',
    safe: 'drop the dependent objects by name first, then drop without CASCADE (RESTRICT fails loudly if anything was missed)',
  };
}

export function checkDrop(ctx: CheckContext): Draft[] {
  const node = ctx.statement.node;
  const drafts: Draft[] = node.behavior === 'DROP_CASCADE' ? [cascade(`DROP ${String(node.removeType).replace('OBJECT_', '')}`)] : [];
  if (node.removeType !== 'OBJECT_TABLE') return drafts;
  for (const o of node.objects as PgNode[]) {
    const items = o.List.items as PgNode[];
    if (ctx.run.createdTables.has(nameListKey(items))) continue;
    const table = nameListSql(items);
    drafts.push({
      rule: 'drop-table', table,
      message: `DROP TABLE ${table} breaks the code still deployed that uses it, and its data is gone`,
      lock: lockClaim('ACCESS EXCLUSIVE', table), rewrite: 'no', scan: 'no',
      safe: 'deploy code that no longer uses the table first, and keep a backup (task backup) of it; drop it in a later release',
    });
  }
  return drafts;
}

export function checkDropColumn(ctx: CheckContext, rel: PgNode, cmd: PgNode): Draft[] {
  const table = relationSql(rel);
  return [{
    rule: 'drop-column', table,
    message: `DROP COLUMN ${table}.${ident(cmd.name)} breaks the code still deployed that reads or writes it (SELECT * included)`,
    lock: lockClaim('ACCESS EXCLUSIVE', table), rewrite: 'no', scan: 'no',
    safe: 'deploy code that no longer uses the column first, then drop it in a later release',
  }];
}

export function checkAlterCascade(cmd: PgNode): Draft[] {
  if (cmd.behavior !== 'DROP_CASCADE') return [];
  return [cascade(cmd.subtype === 'AT_DropColumn' ? 'DROP COLUMN' : 'DROP CONSTRAINT')];
}

export function checkTruncate(ctx: CheckContext): Draft[] {
  const node = ctx.statement.node;
  const drafts: Draft[] = node.behavior === 'DROP_CASCADE' ? [cascade('TRUNCATE')] : [];
  for (const r of node.relations as PgNode[]) {
    if (ctx.run.isNew(r.RangeVar)) continue;
    const table = relationSql(r.RangeVar);
    drafts.push({
      rule: 'truncate', table,
      message: `TRUNCATE ${table} deletes every row under ACCESS EXCLUSIVE`,
      lock: lockClaim('ACCESS EXCLUSIVE', table), rewrite: 'yes', scan: 'no',
      safe: 'delete data from a production table with a tidemark backfill in batches (task backfill:create -- NAME), or drop the table once no code uses it',
    });
  }
  return drafts;
}

function rewritesWholesale(rule: 'vacuum-full' | 'cluster', table: string, what: string): Draft {
  return {
    rule, table,
    message: `${what} rewrites ${table} and all its indexes under ACCESS EXCLUSIVE: reads and writes wait for the whole rewrite`,
    lock: lockClaim('ACCESS EXCLUSIVE', table), rewrite: 'yes', scan: 'yes',
    safe: 'leave it out of migrations: reclaim space online with pg_repack (or pg_squeeze) in a maintenance job; plain VACUUM takes no blocking lock',
  };
}

export function checkVacuum(ctx: CheckContext): Draft[] {
  const node = ctx.statement.node;
  if (!node.is_vacuumcmd || !vacuumIsFull(node)) return [];
  const rels = ((node.rels ?? []) as PgNode[]).map((r) => r.VacuumRelation.relation as PgNode);
  if (!rels.length) return [rewritesWholesale('vacuum-full', 'every table of the database', 'VACUUM FULL')];
  return rels.filter((r) => !ctx.run.isNew(r)).map((r) => rewritesWholesale('vacuum-full', relationSql(r), 'VACUUM FULL'));
}

export function checkCluster(ctx: CheckContext): Draft[] {
  const rel = ctx.statement.node.relation as PgNode | undefined;
  if (rel && ctx.run.isNew(rel)) return [];
  return [rewritesWholesale('cluster', rel ? relationSql(rel) : 'every clustered table', 'CLUSTER')];
}
