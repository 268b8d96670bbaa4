/**
 * Whether ADD COLUMN's default is evaluated once (stored in the catalog, no
 * rewrite, PostgreSQL 11 on) or once a row (a rewrite): it is once a row when
 * the expression calls a volatile function. Functions are judged by name:
 * well-known built-ins here, anything else by pg_proc.provolatile when a
 * database is reachable, and as unknown otherwise.
 */
import type { Catalog } from './catalog.js';
import type { PgNode } from './parse.js';
import type { Claim } from './types.js';

const VOLATILE = new Set([
  'random', 'random_normal', 'gen_random_uuid', 'uuidv4', 'uuidv7', 'uuid_generate_v1', 'uuid_generate_v1mc', 'uuid_generate_v4',
  'clock_timestamp', 'timeofday', 'nextval', 'setval', 'txid_current', 'pg_current_xact_id', 'gen_random_bytes',
]);
/** Stable or immutable: evaluated once for the whole ADD COLUMN. */
const NOT_VOLATILE = new Set([
  'now', 'transaction_timestamp', 'statement_timestamp', 'current_setting', 'lower', 'upper', 'length', 'concat', 'md5',
  'to_jsonb', 'to_json', 'jsonb_build_object', 'json_build_object', 'jsonb_build_array', 'json_build_array', 'array_fill',
  'make_interval', 'make_date', 'make_timestamp', 'make_timestamptz', 'date_trunc', 'to_timestamp', 'to_date', 'timezone', 'abs', 'round',
]);

/** The names of the functions an expression calls, anywhere inside it. */
export function calledFunctions(expr: unknown, found: string[] = []): string[] {
  if (Array.isArray(expr)) for (const item of expr) calledFunctions(item, found);
  else if (expr && typeof expr === 'object') {
    const node = expr as PgNode;
    if (node.FuncCall) found.push((node.FuncCall.funcname as PgNode[]).at(-1)!.String.sval as string);
    for (const value of Object.values(node)) calledFunctions(value, found);
  }
  return found;
}

function isNullConstant(expr: PgNode): boolean {
  return expr.A_Const?.isnull === true || (expr.TypeCast && isNullConstant(expr.TypeCast.arg));
}

export interface DefaultVerdict {
  rewrite: Claim;
  /** What makes it rewrite, for the message: `random() (volatile)`. */
  reason: string;
}

export async function defaultVolatility(expr: PgNode, pgVersion: number, catalog?: Catalog): Promise<DefaultVerdict> {
  if (isNullConstant(expr)) return { rewrite: 'no', reason: 'NULL' };
  if (pgVersion < 11) return { rewrite: 'yes', reason: `(any non-null default before PostgreSQL 11, on PostgreSQL ${pgVersion})` };
  let unknown: string | undefined;
  for (const name of calledFunctions(expr)) {
    if (NOT_VOLATILE.has(name)) continue;
    const volatile = VOLATILE.has(name) || (await catalog?.isVolatile(name));
    if (volatile) return { rewrite: 'yes', reason: `${name}() (volatile: evaluated once a row)` };
    if (volatile === undefined) unknown ??= name;
  }
  if (unknown) return { rewrite: 'maybe', reason: `${unknown}() (its volatility is unknown without the database: a volatile default is evaluated once a row)` };
  return { rewrite: 'no', reason: 'a constant' };
}
