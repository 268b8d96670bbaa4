/** Names as the parser gives them (already case-folded), written back as SQL. */
import type { PgNode } from './parse.js';

/** An identifier quoted only when it must be. */
export function ident(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** A RangeVar as SQL: `schema.table` or `table`. */
export function relationSql(rel: PgNode): string {
  return rel.schemaname ? `${ident(rel.schemaname)}.${ident(rel.relname)}` : ident(rel.relname);
}

/**
 * The key the run's state knows a table by: a table in `public` is the same
 * whether the migration names the schema or not.
 */
export function relationKey(rel: PgNode): string {
  return !rel.schemaname || rel.schemaname === 'public' ? rel.relname : `${rel.schemaname}.${rel.relname}`;
}

/** `["public", "i"]` (a List of String nodes) as a key. */
export function nameListKey(items: PgNode[]): string {
  const parts = items.map((i) => i.String?.sval as string);
  return parts.length === 2 && parts[0] === 'public' ? parts[1] : parts.join('.');
}

export function nameListSql(items: PgNode[]): string {
  return items.map((i) => ident(i.String?.sval as string)).join('.');
}

/** A type name without its modifiers, as to_regtype() reads it: `pg_catalog.varchar[]`. */
export function typeNameText(typeName: PgNode): string {
  const names = (typeName.names as PgNode[]).map((n) => n.String.sval as string);
  return `${names.map(ident).join('.')}${typeName.arrayBounds ? '[]' : ''}`;
}

/** The last part of a type name: `int8`, `varchar`, `bigserial`. */
export function baseTypeName(typeName: PgNode): string {
  return (typeName.names as PgNode[]).at(-1)!.String.sval as string;
}

/** The integer type modifiers written after the name: `varchar(20)` → [20]. */
export function typeModifiers(typeName: PgNode): number[] | undefined {
  const mods = typeName.typmods as PgNode[] | undefined;
  if (!mods) return undefined;
  // A zero is an empty `ival` in the tree.
  const values = mods.map((m) => (m.A_Const?.ival ? ((m.A_Const.ival.ival as number | undefined) ?? 0) : undefined));
  return values.every((v) => typeof v === 'number') ? (values as number[]) : undefined;
}

/** A type as a migration would write it: `int8`, `varchar(40)`, `numeric(12,2)[]`. */
export function typeSql(typeName: PgNode): string {
  const names = (typeName.names as PgNode[]).map((n) => n.String.sval as string).filter((n, i, all) => !(i === 0 && n === 'pg_catalog' && all.length > 1));
  const mods = typeModifiers(typeName);
  return `${names.map(ident).join('.')}${mods ? `(${mods.join(',')})` : ''}${typeName.arrayBounds ? '[]' : ''}`;
}
