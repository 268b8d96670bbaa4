/** ALTER TABLE, one subcommand at a time. */
import { lockClaim } from '../locks.js';
import { ident, relationSql } from '../names.js';
import type { PgNode } from '../parse.js';
import type { CheckContext } from '../state.js';
import type { Draft } from '../types.js';
import { checkAlterCascade, checkDropColumn } from './breaking.js';
import { checkAddColumn, checkSetNotNull, checkTypeChange } from './columns.js';
import { checkCheck, checkForeignKey, checkNotNullConstraint, checkUniqueKey } from './constraints.js';
import { checkDetachConcurrently } from './indexes.js';

function checkAddConstraint(ctx: CheckContext, rel: PgNode, c: PgNode, cmdCount: number): Draft[] {
  switch (c.contype) {
    case 'CONSTR_FOREIGN':
      return checkForeignKey(ctx, rel, c, cmdCount);
    case 'CONSTR_CHECK':
      return checkCheck(ctx, rel, c, cmdCount);
    case 'CONSTR_NOTNULL':
      return checkNotNullConstraint(ctx, rel, c);
    case 'CONSTR_UNIQUE':
    case 'CONSTR_PRIMARY':
    case 'CONSTR_EXCLUSION':
      return checkUniqueKey(ctx, rel, c);
    default:
      return [];
  }
}

/** Constraints written on the new column itself: `ADD COLUMN c int REFERENCES t`, `... UNIQUE`. */
function checkInlineConstraints(ctx: CheckContext, rel: PgNode, def: PgNode): Draft[] {
  return ((def.constraints ?? []) as PgNode[]).flatMap(({ Constraint: c }) => {
    if (c.contype === 'CONSTR_FOREIGN') return checkForeignKey(ctx, rel, c, 0, def.colname);
    if (c.contype === 'CONSTR_UNIQUE' || c.contype === 'CONSTR_PRIMARY') return checkUniqueKey(ctx, rel, c, def.colname);
    return [];
  });
}

/** VALIDATE in the transaction that added the constraint NOT VALID: the ADD's lock is still held through the scan. */
function checkValidateTooSoon(ctx: CheckContext, rel: PgNode, name: string): Draft[] {
  const table = relationSql(rel);
  const rule = ctx.file.inTransaction ? ctx.file.notValidConstraints.get(`${table}\0${name}`) : undefined;
  if (!rule) return [];
  return [{
    rule, table,
    message: `VALIDATE CONSTRAINT ${ident(name)} in the same transaction as its ADD ... NOT VALID: the ADD's lock is held through the whole scan, as if NOT VALID were not there`,
    lock: lockClaim(rule === 'foreign-key-not-valid' ? 'SHARE ROW EXCLUSIVE' : 'ACCESS EXCLUSIVE', table), rewrite: 'no', scan: 'yes',
    safe: 'VALIDATE in a later migration (its own transaction): it then takes only SHARE UPDATE EXCLUSIVE, and reads and writes go on',
    safeSql: `-- in the next migration file:\nALTER TABLE ${table} VALIDATE CONSTRAINT ${ident(name)};`,
  }];
}

async function checkCommand(ctx: CheckContext, rel: PgNode, cmd: PgNode, cmdCount: number): Promise<Draft[]> {
  switch (cmd.subtype) {
    case 'AT_AlterColumnType':
      return checkTypeChange(ctx, rel, cmd);
    case 'AT_SetNotNull':
      return checkSetNotNull(ctx, rel, cmd.name);
    case 'AT_AddColumn':
      return [...(await checkAddColumn(ctx, rel, cmd.def.ColumnDef)), ...checkInlineConstraints(ctx, rel, cmd.def.ColumnDef)];
    case 'AT_AddConstraint':
      return checkAddConstraint(ctx, rel, cmd.def.Constraint, cmdCount);
    case 'AT_DropColumn':
      return [...checkDropColumn(ctx, rel, cmd), ...checkAlterCascade(cmd)];
    case 'AT_DropConstraint':
      return checkAlterCascade(cmd);
    case 'AT_ValidateConstraint':
      return checkValidateTooSoon(ctx, rel, cmd.name);
    default:
      return [];
  }
}

export async function checkAlterTable(ctx: CheckContext): Promise<Draft[]> {
  const node = ctx.statement.node;
  const drafts = checkDetachConcurrently(ctx);
  if (node.objtype !== 'OBJECT_TABLE' || ctx.run.isNew(node.relation)) return drafts;
  const cmds = (node.cmds as PgNode[]).map((c) => c.AlterTableCmd);
  for (const cmd of cmds) drafts.push(...(await checkCommand(ctx, node.relation, cmd, cmds.length)));
  return drafts;
}
