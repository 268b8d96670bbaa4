/**
 * Fingerprints of what a database holds, from the catalog: the schema
 * (tables, columns, indexes, constraints of one schema, tidemark's own
 * tables left out) and, for content, every table's rows. Two databases with
 * equal fingerprints hold the same thing; a mixture of two states matches
 * neither.
 */
import pg from 'pg';

const OWN_TABLES = `c.relname NOT LIKE 'schema\\_migrations%' AND c.relname NOT LIKE 'tidemark\\_%'`;

const SCHEMA_SQL = `
SELECT 'table ' || c.relname || ' ' || c.relkind::text AS line
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm') AND ${OWN_TABLES}
UNION ALL
SELECT 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
       || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
       || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm') AND a.attnum > 0 AND NOT a.attisdropped AND ${OWN_TABLES}
UNION ALL
SELECT 'index ' || pg_get_indexdef(i.indexrelid) || CASE WHEN i.indisvalid THEN '' ELSE ' INVALID' END
  FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = $1 AND ${OWN_TABLES}
UNION ALL
SELECT 'constraint ' || c.relname || '.' || k.conname || ' ' || pg_get_constraintdef(k.oid)
  FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = $1 AND ${OWN_TABLES}
ORDER BY 1`;

export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** One line per table, column, index and constraint of the schema, sorted. */
export async function schemaLines(client: pg.Client, schema = 'public'): Promise<string[]> {
  return (await client.query<{ line: string }>(SCHEMA_SQL, [schema])).rows.map((r) => r.line);
}

export const schemaFingerprint = async (client: pg.Client, schema = 'public') => (await schemaLines(client, schema)).join('\n');

/** The schema, then every table's row count and an md5 over its rows in a stable order. */
export async function contentFingerprint(client: pg.Client, schema = 'public'): Promise<string> {
  const lines = await schemaLines(client, schema);
  const { rows } = await client.query<{ relname: string }>(
    `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1`, [schema]);
  for (const { relname } of rows) {
    const table = `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(relname)}`;
    const { rows: [r] } = await client.query(`SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') AS c FROM ${table} t`);
    lines.push(`rows ${relname} ${r.c}`);
  }
  return lines.join('\n');
}

/** The first lines where two fingerprints differ, for a failure message. */
export function fingerprintDiff(actual: string, expected: string, limit = 4): string {
  const a = new Set(actual.split('\n'));
  const e = new Set(expected.split('\n'));
  const extra = [...a].filter((l) => !e.has(l)).slice(0, limit).map((l) => `+ ${l}`);
  const missing = [...e].filter((l) => !a.has(l)).slice(0, limit).map((l) => `- ${l}`);
  return [...extra, ...missing].join('; ');
}
