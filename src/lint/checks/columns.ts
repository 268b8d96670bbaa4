/** Column changes that rewrite or scan the table: ALTER COLUMN ... TYPE, SET NOT NULL, ADD COLUMN. */
import { lockClaim } from '../locks.js';
import { baseTypeName, ident, relationSql, typeModifiers, typeNameText, typeSql } from '../names.js';
import type { PgNode } from '../parse.js';
import type { CheckContext } from '../state.js';
import { staticTypeChangeRewrites, typeChangeRewrites, typmodOf } from '../type-change.js';
import type { Claim, Draft } from '../types.js';
import { defaultVolatility } from '../volatility.js';

const BACKFILL = 'fill the existing rows in batches with a tidemark backfill (task backfill:create -- NAME, then task backfill -- NAME)';

/** A USING that only casts the column itself changes nothing about the rewrite question. */
function usingIsPlainCast(using: PgNode | undefined, column: string): boolean {
  if (!using) return true;
  const inner = using.TypeCast ? using.TypeCast.arg : using;
  const fields = inner?.ColumnRef?.fields as PgNode[] | undefined;
  return fields?.length === 1 && fields[0].String?.sval === column;
}

async function typeChangeClaim(ctx: CheckContext, table: string, column: string, typeName: PgNode): Promise<{ claim: Claim; from?: string }> {
  const to = baseTypeName(typeName);
  const now = await ctx.catalog?.column(table, column);
  if (!ctx.catalog || !now) return { claim: staticTypeChangeRewrites(to) };
  const oid = await ctx.catalog.typeOid(typeNameText(typeName));
  if (oid === undefined) return { claim: staticTypeChangeRewrites(to), from: now.typeName };
  const target = { oid, name: to, typmod: typmodOf(to, typeModifiers(typeName)) };
  const cast = oid === now.typeOid ? undefined : await ctx.catalog.castMethod(now.typeOid, oid);
  return { claim: typeChangeRewrites({ oid: now.typeOid, name: now.typeBase, typmod: now.typmod }, target, cast), from: now.typeName };
}

export async function checkTypeChange(ctx: CheckContext, rel: PgNode, cmd: PgNode): Promise<Draft[]> {
  const table = relationSql(rel);
  const typeName = cmd.def.ColumnDef.typeName as PgNode;
  const plain = usingIsPlainCast(cmd.def.ColumnDef.raw_default, cmd.name);
  const { claim, from } = plain ? await typeChangeClaim(ctx, table, cmd.name, typeName) : { claim: 'yes' as Claim, from: undefined };
  if (claim === 'no') return [];
  const newType = typeSql(typeName);
  const why = !plain ? 'its USING expression computes every value anew'
    : claim === 'yes' ? `${from ?? 'the current type'} is not binary-coercible to ${newType}`
      : from ? `${from} to ${newType} keeps the bytes only when the session's TimeZone is UTC`
        : `without the database the current type is unknown: only a binary-coercible change (varchar(n) to text or to a longer varchar, ...) skips the rewrite`;
  const column = ident(cmd.name);
  return [{
    rule: 'column-type-rewrites', table,
    message: `ALTER COLUMN ${column} TYPE ${newType} on ${table} ${claim === 'yes' ? 'rewrites' : 'may rewrite'} the table and its indexes under ACCESS EXCLUSIVE: ${why}`,
    lock: lockClaim('ACCESS EXCLUSIVE', table), rewrite: claim, scan: claim,
    safe: `add a new column of the new type, keep it current with a trigger, ${BACKFILL}, then switch the code and swap the columns in a short migration`,
    safeSql: `ALTER TABLE ${table} ADD COLUMN ${ident(`${cmd.name}_new`)} ${typeSql(typeName)};\n-- then ${BACKFILL}`,
  }];
}

async function notNullProven(ctx: CheckContext, rel: PgNode, column: string): Promise<boolean> {
  const table = relationSql(rel);
  if (ctx.run.provenNotNull.has(`${table}\0${column}`)) return ctx.pgVersion >= 12;
  const now = await ctx.catalog?.column(table, column);
  if (now?.notNull) return true;
  return ctx.pgVersion >= 12 && !!ctx.catalog && (await ctx.catalog.hasNotNullCheck(table, column));
}

export function safeNotNull(pgVersion: number, table: string, column: string, relname: string): { safe: string; safeSql?: string } {
  const name = ident(`${relname}_${column}_not_null`);
  const col = ident(column);
  if (pgVersion >= 18) {
    return {
      safe: 'add the NOT NULL constraint NOT VALID (no scan, a brief lock), then VALIDATE it in a later migration: the scan then blocks neither reads nor writes',
      safeSql: `ALTER TABLE ${table} ADD CONSTRAINT ${name} NOT NULL ${col} NOT VALID;\n-- in a later migration:\nALTER TABLE ${table} VALIDATE CONSTRAINT ${name};`,
    };
  }
  if (pgVersion >= 12) {
    return {
      safe: 'prove it with a CHECK first: add it NOT VALID, VALIDATE it (SHARE UPDATE EXCLUSIVE: reads and writes go on), then SET NOT NULL skips its scan',
      safeSql: `ALTER TABLE ${table} ADD CONSTRAINT ${name} CHECK (${col} IS NOT NULL) NOT VALID;\n-- in a later migration:\n`
        + `ALTER TABLE ${table} VALIDATE CONSTRAINT ${name};\nALTER TABLE ${table} ALTER COLUMN ${col} SET NOT NULL;\nALTER TABLE ${table} DROP CONSTRAINT ${name};`,
    };
  }
  return { safe: 'before PostgreSQL 12 SET NOT NULL always scans: keep a validated CHECK (column IS NOT NULL), added NOT VALID then VALIDATEd, instead' };
}

export async function checkSetNotNull(ctx: CheckContext, rel: PgNode, column: string): Promise<Draft[]> {
  if (await notNullProven(ctx, rel, column)) return [];
  const table = relationSql(rel);
  return [{
    rule: 'set-not-null-scans', table,
    message: `SET NOT NULL on ${table}.${ident(column)} scans the whole table under ACCESS EXCLUSIVE (no validated CHECK (${ident(column)} IS NOT NULL) proves it first)`,
    lock: lockClaim('ACCESS EXCLUSIVE', table), rewrite: 'no', scan: 'yes',
    ...safeNotNull(ctx.pgVersion, table, column, rel.relname),
  }];
}

const SERIALS = new Set(['serial', 'serial4', 'bigserial', 'serial8', 'smallserial', 'serial2']);

function constraintsOf(def: PgNode): PgNode[] {
  return ((def.constraints ?? []) as PgNode[]).map((c) => c.Constraint);
}

export async function checkAddColumn(ctx: CheckContext, rel: PgNode, def: PgNode): Promise<Draft[]> {
  const table = relationSql(rel);
  const column = `${table}.${ident(def.colname)}`;
  const lock = lockClaim('ACCESS EXCLUSIVE', table);
  const base = baseTypeName(def.typeName);
  const constraints = constraintsOf(def);
  const drafts: Draft[] = [];
  if (SERIALS.has(base) || constraints.some((c) => c.contype === 'CONSTR_IDENTITY')) {
    drafts.push({
      rule: 'add-column-serial', table,
      message: `ADD COLUMN ${column} ${SERIALS.has(base) ? base : 'GENERATED ... AS IDENTITY'} gives every existing row a value from a sequence: the table is rewritten under ACCESS EXCLUSIVE`,
      lock, rewrite: 'yes', scan: 'yes',
      safe: `add a plain ${base.includes('big') || base === 'serial8' ? 'bigint' : 'integer'} column, create a sequence and SET DEFAULT nextval(...) for new rows, then ${BACKFILL}`,
    });
  }
  const generated = constraints.find((c) => c.contype === 'CONSTR_GENERATED');
  if (generated && (generated.generated_kind !== 'v' || ctx.pgVersion < 18)) {
    drafts.push({
      rule: 'add-column-generated-stored', table,
      message: `ADD COLUMN ${column} GENERATED ... STORED computes and stores a value for every row: the table is rewritten under ACCESS EXCLUSIVE`,
      lock, rewrite: 'yes', scan: 'yes',
      safe: ctx.pgVersion >= 18
        ? 'on PostgreSQL 18 a VIRTUAL generated column stores nothing and adds without a rewrite; or add a plain column kept current by a trigger and fill it with a tidemark backfill'
        : `add a plain column kept current by a trigger, then ${BACKFILL}`,
    });
  }
  const fallback = constraints.find((c) => c.contype === 'CONSTR_DEFAULT');
  if (fallback) drafts.push(...(await checkDefault(ctx, table, column, fallback.raw_expr, lock)));
  return drafts;
}

async function checkDefault(ctx: CheckContext, table: string, column: string, expr: PgNode, lock: ReturnType<typeof lockClaim>): Promise<Draft[]> {
  const verdict = await defaultVolatility(expr, ctx.pgVersion, ctx.catalog);
  if (verdict.rewrite === 'no') return [];
  return [{
    rule: 'add-column-volatile-default', table,
    message: `ADD COLUMN ${column} with DEFAULT ${verdict.reason} ${verdict.rewrite === 'yes' ? 'rewrites' : 'may rewrite'} the table under ACCESS EXCLUSIVE`,
    lock, rewrite: verdict.rewrite, scan: verdict.rewrite,
    safe: `add the column without the default, SET DEFAULT for new rows in the same migration (no rewrite), then ${BACKFILL}`,
  }];
}
