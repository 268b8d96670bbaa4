/** What a statement changes in what the linter remembers, once its rules have looked at it. */
import { lockClaim, strongerLock } from './locks.js';
import { relationKey, relationSql } from './names.js';
import type { ParsedStatement, PgNode } from './parse.js';
import type { RuleId } from '../lint-rule-ids.js';
import type { FileState, RunState } from './state.js';
import { statementLock } from './statement-lock.js';
import { dataChangeTarget } from './checks/session.js';

/** The column of `CHECK (column IS NOT NULL)`. */
function notNullCheckColumn(c: PgNode): string | undefined {
  const test = c.raw_expr?.NullTest;
  const fields = test?.arg?.ColumnRef?.fields as PgNode[] | undefined;
  return test?.nulltesttype === 'IS_NOT_NULL' && fields?.length === 1 ? (fields[0].String?.sval as string) : undefined;
}

const NOT_VALID_RULES: Record<string, RuleId> = {
  CONSTR_FOREIGN: 'foreign-key-not-valid', CONSTR_CHECK: 'check-not-valid', CONSTR_NOTNULL: 'set-not-null-scans',
};

/** Constraints added NOT VALID, whose VALIDATE must wait for a later transaction. */
function rememberNotValid(file: FileState, rel: PgNode, cmds: PgNode[]): void {
  for (const cmd of cmds) {
    const c = cmd.def?.Constraint;
    if (cmd.subtype === 'AT_AddConstraint' && c?.skip_validation && c.conname && NOT_VALID_RULES[c.contype]) {
      file.notValidConstraints.set(`${relationSql(rel)}\0${c.conname}`, NOT_VALID_RULES[c.contype]);
    }
  }
}

function rememberNotNullProofs(run: RunState, rel: PgNode, cmds: PgNode[]): void {
  const table = relationSql(rel);
  for (const cmd of cmds) {
    const c = cmd.def?.Constraint;
    if (cmd.subtype === 'AT_ValidateConstraint') {
      const column = run.unvalidatedNotNullChecks.get(`${table}\0${cmd.name}`);
      if (column) run.provenNotNull.add(`${table}\0${column}`);
    }
    if (cmd.subtype !== 'AT_AddConstraint' || !c) continue;
    const column = c.contype === 'CONSTR_CHECK' ? notNullCheckColumn(c) : c.contype === 'CONSTR_NOTNULL' ? (c.keys?.[0]?.String?.sval as string) : undefined;
    if (!column) continue;
    if (!c.skip_validation) run.provenNotNull.add(`${table}\0${column}`);
    else if (c.conname) run.unvalidatedNotNullChecks.set(`${table}\0${c.conname}`, column);
  }
}

/** Whether a SET/RESET of lock_timeout leaves one set (a value other than 0). */
function setsLockTimeout(node: PgNode): boolean {
  if (node.kind !== 'VAR_SET_VALUE') return false;
  const value = node.args?.[0]?.A_Const;
  const text = String(value?.sval?.sval ?? value?.ival?.ival ?? 0).trim();
  return !/^0+(\.0*)?\s*(ms|s|min|h|d)?$/i.test(text);
}

function setConfigLockTimeout(statement: ParsedStatement): boolean | undefined {
  const match = /set_config\s*\(\s*'lock_timeout'\s*,\s*'([^']*)'/i.exec(statement.text);
  return match ? !/^0+\s*(ms|s|min|h|d)?$/i.test(match[1].trim()) : undefined;
}

function rememberSession(file: FileState, statement: ParsedStatement): void {
  const { kind, node } = statement;
  if (kind === 'VariableSetStmt' && node.name === 'lock_timeout' && !(node.is_local && !file.inTransaction)) {
    file.lockTimeoutSet = setsLockTimeout(node);
  } else if (kind === 'VariableSetStmt' && node.kind === 'VAR_RESET_ALL') file.lockTimeoutSet = false;
  else if (kind === 'SelectStmt') file.lockTimeoutSet = setConfigLockTimeout(statement) ?? file.lockTimeoutSet;
}

function rememberObjects(run: RunState, statement: ParsedStatement): void {
  const { kind, node } = statement;
  if (kind === 'CreateStmt') run.createdTables.add(relationKey(node.relation));
  else if (kind === 'CreateTableAsStmt') run.createdTables.add(relationKey(node.into.rel));
  else if (kind === 'IndexStmt' && run.isNew(node.relation) && node.idxname) {
    run.createdIndexes.add(relationKey({ schemaname: node.relation.schemaname, relname: node.idxname }));
  } else if (kind === 'RenameStmt' && node.renameType === 'OBJECT_TABLE' && run.isNew(node.relation)) {
    run.createdTables.add(relationKey({ schemaname: node.relation.schemaname, relname: node.newname }));
  } else if (kind === 'AlterTableStmt' && node.objtype === 'OBJECT_TABLE') {
    rememberNotNullProofs(run, node.relation, (node.cmds as PgNode[]).map((c) => c.AlterTableCmd));
  }
}

export function applyEffects(run: RunState, file: FileState, statement: ParsedStatement): void {
  if (statement.kind === 'TransactionStmt') file.onTransactionStatement(statement.node.kind);
  rememberObjects(run, statement);
  rememberSession(file, statement);
  if (statement.kind === 'AlterTableStmt' && file.inTransaction) {
    rememberNotValid(file, statement.node.relation, (statement.node.cmds as PgNode[]).map((c) => c.AlterTableCmd));
  }
  if (file.inTransaction) {
    const lock = statementLock(statement);
    for (const t of lock && lockClaim(lock.mode, '').blocksWrites ? lock.targets : []) file.ddlTables.set(t.key, strongerLock(file.ddlTables.get(t.key), lock!.mode));
    const changed = dataChangeTarget(statement);
    if (changed) file.dataTables.add(relationKey(changed));
  }
  file.afterStatement();
}
