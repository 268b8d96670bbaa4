// Migration directories for each tool, generated from one list of statements,
// and the scripts that run the same SQL through psql (the floor).
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** The W1 statement for migration i (1-based). */
export const createTableSql = (i) => `CREATE TABLE t_${i} (id int primary key, v text);\n`;
export const dropTableSql = (i) => `DROP TABLE t_${i};\n`;

const pad = (i) => String(i).padStart(6, '0');

async function writeAll(dir, files) {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  // Batches keep the number of open files bounded.
  for (let i = 0; i < files.length; i += 256) {
    await Promise.all(files.slice(i, i + 256).map(([name, text]) => writeFile(path.join(dir, name), text)));
  }
  return dir;
}

function range(n) {
  return Array.from({ length: n }, (_, k) => k + 1);
}

/** golang-migrate's layout, which tidemark reads: NNNNNN_name.up.sql and .down.sql. */
export function tidemarkDir(dir, n) {
  return writeAll(dir, range(n).flatMap((i) => [
    [`${pad(i)}_create_t_${i}.up.sql`, createTableSql(i)],
    [`${pad(i)}_create_t_${i}.down.sql`, dropTableSql(i)],
  ]));
}

/** dbmate's layout: one NNNNNN_name.sql per migration with migrate:up/migrate:down sections. */
export function dbmateDir(dir, n) {
  return writeAll(dir, range(n).map((i) => [`${pad(i)}_create_t_${i}.sql`, `-- migrate:up\n${createTableSql(i)}\n-- migrate:down\n${dropTableSql(i)}`]));
}

/** node-pg-migrate's SQL layout: one NNNNNN_name.sql per migration with Up/Down Migration sections. */
export function nodePgMigrateDir(dir, n) {
  return writeAll(dir, range(n).map((i) => [`${pad(i)}_create_t_${i}.sql`, `-- Up Migration\n${createTableSql(i)}\n-- Down Migration\n${dropTableSql(i)}`]));
}

/**
 * The floor: the same statements in one psql session, one transaction per
 * migration with a single-row version table rewritten in it.
 */
export async function psqlScript(file, n) {
  const lines = ['\\set ON_ERROR_STOP on', 'CREATE TABLE IF NOT EXISTS bench_version (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);'];
  for (const i of range(n)) {
    lines.push(`BEGIN;\n${createTableSql(i)}DELETE FROM bench_version;\nINSERT INTO bench_version VALUES (${i}, false);\nCOMMIT;`);
  }
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

