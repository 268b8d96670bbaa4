/** Which rules look at which kind of statement. */
import type { CheckContext } from '../state.js';
import type { Draft } from '../types.js';
import { checkAlterTable } from './alter-table.js';
import { checkCluster, checkDrop, checkRename, checkTruncate, checkVacuum } from './breaking.js';
import { checkCreateIndex, checkDropIndex, checkReindex } from './indexes.js';
import { checkDataWithDdl, checkEnumAddValue, checkLockTimeout } from './session.js';

type Check = (ctx: CheckContext) => Draft[] | Promise<Draft[]>;

const dropIndex: Check = (ctx) => (ctx.statement.node.removeType === 'OBJECT_INDEX' ? checkDropIndex(ctx) : []);

const BY_KIND: Record<string, Check[]> = {
  IndexStmt: [checkCreateIndex],
  DropStmt: [dropIndex, checkDrop],
  ReindexStmt: [checkReindex],
  AlterTableStmt: [checkAlterTable],
  RenameStmt: [checkRename],
  TruncateStmt: [checkTruncate],
  VacuumStmt: [checkVacuum],
  ClusterStmt: [checkCluster],
  AlterEnumStmt: [checkEnumAddValue],
};

/** Every statement, whatever its kind: waiting for locks, and data changes next to DDL. */
const ALWAYS: Check[] = [checkLockTimeout, checkDataWithDdl];

export async function checkStatement(ctx: CheckContext): Promise<Draft[]> {
  const drafts: Draft[] = [];
  for (const check of [...(BY_KIND[ctx.statement.kind] ?? []), ...ALWAYS]) drafts.push(...(await check(ctx)));
  return drafts;
}
