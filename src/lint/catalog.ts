/**
 * What the server's catalog knows about the tables a migration touches: their
 * size, a column's current type, whether a cast is binary, whether a
 * validated CHECK already proves a column NOT NULL, whether a function is
 * volatile. Read-only queries, each asked once per run. Names are passed as
 * SQL text to to_regclass(), so the connection's search_path resolves them
 * as the migration will.
 */
import type pg from 'pg';

export interface TableFacts {
  /** pg_class.reltuples: an estimate; -1 when never vacuumed or analyzed. */
  rows: number;
  /** pg_total_relation_size: table, indexes and TOAST. */
  bytes: number;
}

export interface ColumnFacts {
  typeOid: number;
  /** pg_type.typname: `varchar`, `int8`. */
  typeBase: string;
  typmod: number;
  /** format_type(): `character varying(20)`. */
  typeName: string;
  notNull: boolean;
}

export interface Catalog {
  /** undefined: no such table (yet). */
  table(name: string): Promise<TableFacts | undefined>;
  column(table: string, column: string): Promise<ColumnFacts | undefined>;
  typeOid(typeText: string): Promise<number | undefined>;
  /** pg_cast.castmethod from one type to another: 'b' binary, 'f' function, 'i' I/O; undefined: no cast. */
  castMethod(source: number, target: number): Promise<string | undefined>;
  /** A validated CHECK (column IS NOT NULL) on the table. */
  hasNotNullCheck(table: string, column: string): Promise<boolean>;
  /** Whether any function of that name is volatile; undefined when none is known. */
  isVolatile(functionName: string): Promise<boolean | undefined>;
  /** The table of an index, as SQL text. */
  indexTable(index: string): Promise<string | undefined>;
}

type Row = Record<string, unknown>;

/** A Catalog over one connection; every answer cached for the run. */
export function serverCatalog(client: pg.ClientBase): Catalog {
  const cache = new Map<string, Promise<Row | undefined>>();
  const first = (text: string, values: unknown[]): Promise<Row | undefined> => {
    const key = `${text}\0${JSON.stringify(values)}`;
    let answer = cache.get(key);
    if (!answer) cache.set(key, (answer = client.query(text, values).then((r) => r.rows[0] as Row | undefined)));
    return answer;
  };
  return {
    table: async (name) => {
      const row = await first(`SELECT c.reltuples::float8 AS rows, pg_total_relation_size(c.oid)::float8 AS bytes
        FROM pg_class c WHERE c.oid = to_regclass($1)`, [name]);
      return row && { rows: Number(row.rows), bytes: Number(row.bytes) };
    },
    column: async (table, column) => {
      const row = await first(`SELECT a.atttypid::int8 AS oid, a.atttypmod AS typmod, format_type(a.atttypid, a.atttypmod) AS name, t.typname, a.attnotnull
        FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped`, [table, column]);
      return row && { typeOid: Number(row.oid), typeBase: String(row.typname), typmod: Number(row.typmod), typeName: String(row.name), notNull: row.attnotnull === true };
    },
    typeOid: async (typeText) => {
      const row = await first('SELECT to_regtype($1)::oid::int8 AS oid', [typeText]);
      return row?.oid == null ? undefined : Number(row.oid);
    },
    castMethod: async (source, target) => {
      const row = await first('SELECT castmethod FROM pg_cast WHERE castsource = $1 AND casttarget = $2', [source, target]);
      return row?.castmethod as string | undefined;
    },
    hasNotNullCheck: async (table, column) => {
      const row = await first(`SELECT coalesce(array_agg(pg_get_constraintdef(oid)), '{}') AS defs FROM pg_constraint
        WHERE conrelid = to_regclass($1) AND contype = 'c' AND convalidated`, [table]);
      return ((row?.defs as string[] | undefined) ?? []).some((def) => provesNotNull(def, column));
    },
    isVolatile: async (functionName) => {
      const row = await first(`SELECT bool_or(provolatile = 'v') AS volatile FROM pg_proc
        WHERE proname = $1 AND pg_function_is_visible(oid)`, [functionName]);
      return row?.volatile == null ? undefined : row.volatile === true;
    },
    indexTable: async (index) => {
      const row = await first('SELECT indrelid::regclass::text AS name FROM pg_index WHERE indexrelid = to_regclass($1)', [index]);
      return row?.name as string | undefined;
    },
  };
}

/** `CHECK ((email IS NOT NULL))` as pg_get_constraintdef() writes it, for that column alone. */
export function provesNotNull(definition: string, column: string): boolean {
  const quoted = column.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^CHECK \\(+"?${quoted}"? IS NOT NULL\\)+( NOT VALID)?$`).test(definition) && !definition.endsWith('NOT VALID');
}
