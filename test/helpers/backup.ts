import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { createTestDatabase, type TestDatabase } from './db.js';
import { runCli, type CliOptions } from './cli.js';

/** A database on the server the local pg_dump supports, with a few tables of known content. */
export async function seededDatabase(label: string): Promise<TestDatabase> {
  const db = await createTestDatabase(label, inject('pgToolsUrl'));
  await db.query(`
    CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);
    INSERT INTO schema_migrations VALUES (42, false);
    CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, balance numeric(12,2));
    INSERT INTO customers SELECT g, 'customer ' || g || E' \\'quoted\\' ;', g * 1.25 FROM generate_series(1, 2000) g;
    CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int REFERENCES customers, note text, created date);
    INSERT INTO orders SELECT g, 1 + g % 2000, repeat(md5(g::text), 3), date '2026-01-01' + g % 300 FROM generate_series(1, 5000) g;
    CREATE INDEX orders_customer ON orders (customer_id);
    CREATE VIEW big_orders AS SELECT * FROM orders WHERE id > 4000;`);
  return db;
}

/** Row count and a checksum of every row, per table: equal content means equal numbers. */
export async function contentOf(db: TestDatabase): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const table of ['schema_migrations', 'customers', 'orders']) {
    const exists = (await db.query(`SELECT to_regclass('${table}') AS t`)).rows[0].t;
    if (!exists) continue;
    const { rows } = await db.query(`SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') AS c FROM ${table} t`);
    result[table] = rows[0].c;
  }
  return result;
}

export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), `tidemark-${prefix}-`));
  await chmod(dir, 0o755);
  return dir;
}

/** Writes an executable stand-in script. */
export async function standIn(dir: string, name: string, script: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, `#!/usr/bin/env bash\n${script}`);
  await chmod(file, 0o755);
  return file;
}

export function backupCli(target: string, args: string[], db: TestDatabase | undefined, backupDir: string, options: CliOptions = {}) {
  return runCli(target, args, { ...options, env: { ...(db && { DATABASE_URL: db.url }), BACKUP_DIR: backupDir, PG_BIN_DIR: inject('pgToolsBinDir'), ...options.env } });
}
