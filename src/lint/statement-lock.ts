/**
 * The table lock a DDL statement takes, from its parse tree alone (the modes
 * of PostgreSQL's ALTER TABLE, CREATE INDEX, DROP, ... documentation). Used
 * for the rules about waiting for a lock and about data changes next to DDL,
 * which care about any DDL, not only the kinds other rules flag.
 */
import { strongerLock, type LockMode } from './locks.js';
import { nameListKey, nameListSql, relationKey, relationSql } from './names.js';
import type { ParsedStatement, PgNode } from './parse.js';

export interface LockTarget {
  /** The run's key for the table (see relationKey). */
  key: string;
  sql: string;
  /** An index named where its table is unknown from the text alone (DROP INDEX). */
  isIndex?: boolean;
}

export interface StatementLock {
  mode: LockMode;
  targets: LockTarget[];
}

const target = (rel: PgNode): LockTarget => ({ key: relationKey(rel), sql: relationSql(rel) });

const SHARE_UPDATE_EXCLUSIVE_COMMANDS = new Set([
  'AT_ValidateConstraint', 'AT_SetStatistics', 'AT_SetOptions', 'AT_ResetOptions', 'AT_ClusterOn', 'AT_DropCluster', 'AT_AttachPartition',
]);
const SHARE_ROW_EXCLUSIVE_COMMANDS = new Set([
  'AT_EnableTrig', 'AT_EnableAlwaysTrig', 'AT_EnableReplicaTrig', 'AT_DisableTrig', 'AT_EnableTrigAll', 'AT_DisableTrigAll', 'AT_EnableTrigUser', 'AT_DisableTrigUser',
]);

/** The lock one ALTER TABLE subcommand takes on its table. */
export function alterCommandLock(cmd: PgNode): LockMode {
  if (SHARE_UPDATE_EXCLUSIVE_COMMANDS.has(cmd.subtype)) return 'SHARE UPDATE EXCLUSIVE';
  if (SHARE_ROW_EXCLUSIVE_COMMANDS.has(cmd.subtype)) return 'SHARE ROW EXCLUSIVE';
  if (cmd.subtype === 'AT_DetachPartition' && cmd.def?.PartitionCmd?.concurrent) return 'SHARE UPDATE EXCLUSIVE';
  if (cmd.subtype === 'AT_AddConstraint' && cmd.def?.Constraint?.contype === 'CONSTR_FOREIGN') return 'SHARE ROW EXCLUSIVE';
  return 'ACCESS EXCLUSIVE';
}

function alterTableLock(node: PgNode): StatementLock {
  let mode: LockMode | undefined;
  for (const c of node.cmds as PgNode[]) mode = strongerLock(mode, alterCommandLock(c.AlterTableCmd));
  return { mode: mode ?? 'ACCESS EXCLUSIVE', targets: [target(node.relation)] };
}

function dropLock(node: PgNode): StatementLock | undefined {
  if (node.removeType !== 'OBJECT_TABLE' && node.removeType !== 'OBJECT_INDEX') return undefined;
  const isIndex = node.removeType === 'OBJECT_INDEX';
  const targets = (node.objects as PgNode[]).map((o) => {
    const items = o.List.items as PgNode[];
    return { key: nameListKey(items), sql: nameListSql(items), isIndex };
  });
  return { mode: isIndex && node.concurrent ? 'SHARE UPDATE EXCLUSIVE' : 'ACCESS EXCLUSIVE', targets };
}

function isConcurrentReindex(node: PgNode): boolean {
  return ((node.params ?? []) as PgNode[]).some((p) => p.DefElem?.defname === 'concurrently');
}

function vacuumIsFull(node: PgNode): boolean {
  return ((node.options ?? []) as PgNode[]).some((o) => o.DefElem?.defname === 'full' && o.DefElem.arg?.Boolean?.boolval !== false);
}

/** The lock of a statement that takes one worth naming; undefined for the rest (DML, CREATE TABLE, SET, ...). */
export function statementLock(statement: ParsedStatement): StatementLock | undefined {
  const { kind, node } = statement;
  switch (kind) {
    case 'AlterTableStmt':
      return node.objtype === 'OBJECT_TABLE' || node.objtype === 'OBJECT_MATVIEW' ? alterTableLock(node) : undefined;
    case 'IndexStmt':
      return { mode: node.concurrent ? 'SHARE UPDATE EXCLUSIVE' : 'SHARE', targets: [target(node.relation)] };
    case 'DropStmt':
      return dropLock(node);
    case 'RenameStmt':
      return node.relation && node.renameType !== 'OBJECT_INDEX' ? { mode: 'ACCESS EXCLUSIVE', targets: [target(node.relation)] } : undefined;
    case 'TruncateStmt':
      return { mode: 'ACCESS EXCLUSIVE', targets: (node.relations as PgNode[]).map((r) => target(r.RangeVar)) };
    case 'VacuumStmt':
      return node.is_vacuumcmd && vacuumIsFull(node) ? { mode: 'ACCESS EXCLUSIVE', targets: vacuumTargets(node) } : undefined;
    case 'ClusterStmt':
      return node.relation ? { mode: 'ACCESS EXCLUSIVE', targets: [target(node.relation)] } : undefined;
    case 'ReindexStmt':
      if (!node.relation || isConcurrentReindex(node)) return undefined;
      return { mode: 'SHARE', targets: [{ ...target(node.relation), isIndex: node.kind === 'REINDEX_OBJECT_INDEX' }] };
    case 'CreateTrigStmt':
      return { mode: 'SHARE ROW EXCLUSIVE', targets: [target(node.relation)] };
    default:
      return undefined;
  }
}

function vacuumTargets(node: PgNode): LockTarget[] {
  return ((node.rels ?? []) as PgNode[]).map((r) => target(r.VacuumRelation.relation));
}

export { isConcurrentReindex, vacuumIsFull };
