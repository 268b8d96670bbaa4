import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { inlineMigrations, readMigrationDir } from '../src/migrate/source/index.js';
import { firstInvalidUtf8 } from '../src/migrate/source/encoding.js';
import { runCli } from './helpers/cli.js';
import { databasesClosedAfterEach, type TestDatabase } from './helpers/db.js';
import { migrationsDir } from './helpers/migrations.js';

const database = databasesClosedAfterEach();

const cli = (db: TestDatabase, target: string, dir: string, args: string[] = []) =>
  runCli(target, ['--dir', dir, ...args], { env: { DATABASE_URL: db.url } });

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** 'café' saved as Latin-1: the é is the single byte 0xE9, on line 2. */
const LATIN1_INSERT = Buffer.concat([
  Buffer.from("CREATE TABLE names (n text);\nINSERT INTO names VALUES ('caf"),
  Buffer.from([0xe9]),
  Buffer.from("');\n"),
]);
const LATIN1_OFFSET = LATIN1_INSERT.indexOf(0xe9);

async function writeBytes(dir: string, files: Record<string, Buffer>): Promise<void> {
  await Promise.all(Object.entries(files).map(([name, bytes]) => writeFile(path.join(dir, name), bytes)));
}

/** The error a call throws; a call that does not throw fails the test. */
function caught(call: () => unknown): any {
  try {
    call();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

describe('migration files that are not UTF-8', () => {
  it('are refused when read, naming the file, the byte offset and the line', async () => {
    const { dir } = await migrationsDir({});
    await writeBytes(dir, { '1_names.up.sql': LATIN1_INSERT });
    const set = await readMigrationDir(dir);
    const err = caught(() => set.migrations[0].up!.load());
    expect(err.code).toBe('MIGRATION_SOURCE_FAILED');
    expect(err.operation).toContain('1_names.up.sql');
    expect(err.reason).toContain(`byte offset ${LATIN1_OFFSET} (line 2`);
    expect(err.data).toMatchObject({ offset: LATIN1_OFFSET, line: 2 });
    // Read once: a second look gets the same refusal without reading again.
    expect(caught(() => set.migrations[0].up!.load())).toBe(err);
  });

  it('are named as UTF-16 when they start with its byte order mark', async () => {
    const { dir } = await migrationsDir({});
    await writeBytes(dir, { '1_wide.up.sql': Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('SELECT 1;', 'utf16le')]) });
    const set = await readMigrationDir(dir);
    const err = caught(() => set.migrations[0].up!.load());
    expect(err.code).toBe('MIGRATION_SOURCE_FAILED');
    expect(err.reason).toBe('the file is UTF-16 little-endian (it starts with that byte order mark), not UTF-8');
    expect(err.hint).toContain('iconv -f UTF-16 -t UTF-8');
  });

  it('finds the first ill-formed sequence as the Unicode standard defines it', () => {
    const at = (...bytes: number[]) => firstInvalidUtf8(Uint8Array.from(bytes));
    expect(at(0x61, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80)).toBe(-1);
    expect(at(0x61, 0xe9, 0x62)).toBe(1);
    expect(at(0x61, 0xc0, 0xaf)).toBe(1); // overlong
    expect(at(0xed, 0xa0, 0x80)).toBe(0); // a UTF-16 surrogate
    expect(at(0x61, 0x62, 0xe2, 0x82)).toBe(2); // cut short at the end
    expect(at(0xf4, 0x90, 0x80, 0x80)).toBe(0); // above U+10FFFF
  });

  it('stop migrate before anything is applied, and status reports the same error', async () => {
    const db = await database('latin1');
    const { dir } = await migrationsDir({ '1_first.up.sql': 'CREATE TABLE first (id int);' });
    await writeBytes(dir, { '2_names.up.sql': LATIN1_INSERT });
    const run = await cli(db, 'migrate', dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('MIGRATION_SOURCE_FAILED');
    expect(run.stderr).toContain('2_names.up.sql');
    expect(run.stderr).toContain(`byte offset ${LATIN1_OFFSET} (line 2`);
    const { rows } = await db.query("SELECT to_regclass('first')::text AS first, to_regclass('names')::text AS names");
    expect(rows[0]).toEqual({ first: null, names: null });
    const status = await cli(db, 'migrate:status', dir, ['--json']);
    expect(status.code).toBe(1);
    expect(JSON.parse(status.stderr).error).toMatchObject({ code: 'MIGRATION_SOURCE_FAILED', details: { offset: LATIN1_OFFSET, line: 2 } });
  });
});

describe('a UTF-8 file', () => {
  it('applies to a database in another encoding, converted by the server', async () => {
    const admin = new pg.Client({ connectionString: inject('pg18Url') });
    await admin.connect();
    const name = `t_latin1_db_${process.pid}`;
    await admin.query(`CREATE DATABASE ${name} ENCODING 'LATIN1' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'`);
    const url = new URL(inject('pg18Url'));
    url.pathname = `/${name}`;
    try {
      const { dir } = await migrationsDir({ '1_names.up.sql': "CREATE TABLE names (n text);\nINSERT INTO names VALUES ('café');\n" });
      const run = await runCli('migrate', ['--dir', dir], { env: { DATABASE_URL: url.toString() } });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const check = new pg.Client({ connectionString: url.toString() });
      await check.connect();
      const { rows } = await check.query("SELECT n, encode(convert_to(n, 'LATIN1'), 'hex') AS stored FROM names");
      await check.end();
      expect(rows).toEqual([{ n: 'café', stored: '636166e9' }]);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  });
});

describe('a UTF-8 byte order mark at the start of a file', () => {
  const files = {
    '1_plain.up.sql': Buffer.concat([BOM, Buffer.from("CREATE TABLE plain (id int, note text DEFAULT 'é');\n")]),
    '2_concurrent.up.sql': Buffer.concat([BOM, Buffer.from('-- tidemark:no-transaction\nCREATE INDEX CONCURRENTLY plain_id ON plain (id);\nCREATE INDEX CONCURRENTLY plain_note ON plain (note);\n')]),
  };

  it('is not sent: a transactional and a no-transaction file both apply, with checksums over the bytes as they are', async () => {
    const db = await database('bom');
    const { dir } = await migrationsDir({});
    await writeBytes(dir, files);
    const run = await cli(db, 'migrate', dir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/applied 2 concurrent .* no-transaction/);
    const indexes = await db.query("SELECT indexname FROM pg_indexes WHERE tablename = 'plain' ORDER BY 1");
    expect(indexes.rows.map((r) => r.indexname)).toEqual(['plain_id', 'plain_note']);
    const history = await db.query("SELECT version::int, checksum FROM schema_migrations_history WHERE direction = 'up' ORDER BY version");
    expect(history.rows).toEqual([
      { version: 1, checksum: sha256(files['1_plain.up.sql']) },
      { version: 2, checksum: sha256(files['2_concurrent.up.sql']) },
    ]);
    const again = await cli(db, 'migrate', dir);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Already at latest version: 2');
  });

  it('is left out of the SQL of files and in-memory migrations, and kept in their checksums', async () => {
    const { dir } = await migrationsDir({});
    await writeBytes(dir, files);
    const fromFile = (await readMigrationDir(dir)).migrations[0].up!.load();
    expect(fromFile).toEqual({ sql: "CREATE TABLE plain (id int, note text DEFAULT 'é');\n", byteOrderMark: true, checksum: sha256(files['1_plain.up.sql']) });
    const inline = inlineMigrations([{ version: 1, name: 'a', up: '\uFEFFSELECT 1' }]).migrations[0].up!.load();
    expect(inline).toEqual({ sql: 'SELECT 1', byteOrderMark: true, checksum: sha256(Buffer.from('\uFEFFSELECT 1')) });
  });

  it('is named in the dry run, in text and in JSON', async () => {
    const db = await database('bom_dry');
    const { dir } = await migrationsDir({ '3_other.up.sql': 'SELECT 1;\n' });
    await writeBytes(dir, files);
    const text = await cli(db, 'migrate', dir, ['--dry-run', '--sql']);
    expect(text.code).toBe(0);
    const lines = text.stdout.split('\n');
    const note = '      (a UTF-8 byte order mark at the start of the file is not sent)';
    expect(lines[lines.findIndex((l) => l.includes('(1_plain.up.sql)')) + 1]).toBe(note);
    expect(lines[lines.findIndex((l) => l.includes('(2_concurrent.up.sql)')) + 1]).toBe(note);
    expect(lines[lines.findIndex((l) => l.includes('(3_other.up.sql)')) + 1]).toBe('      SELECT 1;');
    expect(text.stdout).toContain('      CREATE TABLE plain');
    const json = await cli(db, 'migrate', dir, ['--dry-run', '--json']);
    const report = JSON.parse(json.stdout);
    expect(report.steps.map((s: { byteOrderMark: boolean }) => s.byteOrderMark)).toEqual([true, true, false]);
  });
});
