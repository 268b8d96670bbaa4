/** ADD CONSTRAINT: foreign keys and checks without NOT VALID, unique keys without an index built first. */
import { lockClaim } from '../locks.js';
import { ident, relationSql } from '../names.js';
import type { PgNode } from '../parse.js';
import type { CheckContext } from '../state.js';
import type { Draft } from '../types.js';
import { safeNotNull } from './columns.js';

function keyList(nodes: PgNode[] | undefined): string[] {
  return (nodes ?? []).map((n) => n.String.sval as string);
}

/** PostgreSQL's default constraint name for the common single-table case. */
function constraintName(c: PgNode, relname: string, columns: string[], suffix: string): string {
  return ident(c.conname ?? `${relname}_${columns.join('_') || 'new'}_${suffix}`);
}

/** The statement with NOT VALID appended, when it is one ALTER TABLE ... ADD CONSTRAINT. */
function notValidSql(text: string, cmdCount: number): string | undefined {
  return cmdCount === 1 && /\bADD\s+CONSTRAINT\b/i.test(text) ? `${text.replace(/;?\s*$/, '')} NOT VALID;` : undefined;
}

function validateLater(table: string, name: string, first: string | undefined): string | undefined {
  return first && `${first}\n-- in a later migration (SHARE UPDATE EXCLUSIVE: reads and writes go on):\nALTER TABLE ${table} VALIDATE CONSTRAINT ${name};`;
}

export function checkForeignKey(ctx: CheckContext, rel: PgNode, c: PgNode, cmdCount: number, column?: string): Draft[] {
  if (c.skip_validation) return [];
  const table = relationSql(rel);
  const referenced = relationSql(c.pktable);
  const columns = column ? [column] : keyList(c.fk_attrs);
  const name = constraintName(c, rel.relname, columns, 'fkey');
  return [{
    rule: 'foreign-key-not-valid', table,
    message: `FOREIGN KEY on ${table} without NOT VALID checks every row while holding SHARE ROW EXCLUSIVE on ${table} and ${referenced}: writes to both wait for the whole scan`,
    lock: lockClaim('SHARE ROW EXCLUSIVE', `${table}, ${referenced}`), rewrite: 'no', scan: 'yes',
    safe: column
      ? `add the column first, then the foreign key as ADD CONSTRAINT ${name} FOREIGN KEY (...) REFERENCES ... NOT VALID, then VALIDATE CONSTRAINT ${name} in a later migration`
      : `add it NOT VALID (new rows are checked at once, a brief lock), then VALIDATE CONSTRAINT ${name} in a later migration`,
    safeSql: validateLater(table, name, notValidSql(ctx.statement.text, cmdCount)),
  }];
}

export function checkCheck(ctx: CheckContext, rel: PgNode, c: PgNode, cmdCount: number): Draft[] {
  if (c.skip_validation) return [];
  const table = relationSql(rel);
  const name = constraintName(c, rel.relname, [], 'check');
  return [{
    rule: 'check-not-valid', table,
    message: `CHECK constraint on ${table} without NOT VALID checks every row under ACCESS EXCLUSIVE`,
    lock: lockClaim('ACCESS EXCLUSIVE', table), rewrite: 'no', scan: 'yes',
    safe: `add it NOT VALID (new rows are checked at once, a brief lock), then VALIDATE CONSTRAINT ${c.conname ? name : 'it by its name'} in a later migration`,
    safeSql: c.conname ? validateLater(table, name, notValidSql(ctx.statement.text, cmdCount)) : undefined,
  }];
}

const KEY_WORDS: Record<string, string> = { CONSTR_UNIQUE: 'UNIQUE', CONSTR_PRIMARY: 'PRIMARY KEY', CONSTR_EXCLUSION: 'EXCLUDE' };

export function checkUniqueKey(_ctx: CheckContext, rel: PgNode, c: PgNode, column?: string): Draft[] {
  if (c.indexname) return [];
  const table = relationSql(rel);
  const words = KEY_WORDS[c.contype];
  const columns = column ? [column] : keyList(c.keys);
  const name = constraintName(c, rel.relname, columns, c.contype === 'CONSTR_PRIMARY' ? 'pkey' : 'key');
  const canUseIndex = c.contype !== 'CONSTR_EXCLUSION' && columns.length > 0;
  return [{
    rule: 'unique-without-index', table,
    message: `${words} on ${table} builds its index under ACCESS EXCLUSIVE: reads and writes wait for the whole build`,
    lock: lockClaim('ACCESS EXCLUSIVE', table), rewrite: 'no', scan: 'yes',
    safe: canUseIndex
      ? `build the unique index with CREATE UNIQUE INDEX CONCURRENTLY in a -- tidemark:no-transaction file, then attach it with ADD CONSTRAINT ... ${words} USING INDEX (a brief lock)`
        + (c.contype === 'CONSTR_PRIMARY' ? '; its columns must be NOT NULL already (see set-not-null-scans)' : '')
      : 'an exclusion constraint cannot use an existing index: add it while the table is small, or in a maintenance window',
    safeSql: canUseIndex
      ? `-- tidemark:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY ${name} ON ${table} (${columns.map(ident).join(', ')});\n`
        + `-- in the next migration:\nALTER TABLE ${table} ADD CONSTRAINT ${name} ${words} USING INDEX ${name};`
      : undefined,
  }];
}

/** PostgreSQL 18's ADD CONSTRAINT name NOT NULL column, without NOT VALID. */
export function checkNotNullConstraint(ctx: CheckContext, rel: PgNode, c: PgNode): Draft[] {
  if (c.skip_validation) return [];
  const table = relationSql(rel);
  const column = keyList(c.keys)[0] ?? '';
  return [{
    rule: 'set-not-null-scans', table,
    message: `NOT NULL constraint on ${table}.${ident(column)} without NOT VALID scans the whole table under ACCESS EXCLUSIVE`,
    lock: lockClaim('ACCESS EXCLUSIVE', table), rewrite: 'no', scan: 'yes',
    ...safeNotNull(ctx.pgVersion, table, column, rel.relname),
  }];
}
