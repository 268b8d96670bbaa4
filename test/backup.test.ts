import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { copyFile, readFile, readdir, stat, truncate, writeFile, open } from 'node:fs/promises';
import path from 'node:path';
import { inject } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { backupCli, contentOf, seededDatabase, tempDir } from './helpers/backup.js';

let source: TestDatabase;
let original: Record<string, string>;
const created: TestDatabase[] = [];
beforeAll(async () => {
  source = await seededDatabase('backup_src');
  original = await contentOf(source);
});
afterAll(async () => {
  await Promise.all([source, ...created].map((db) => db.close()));
});

/** A handle on a database that a restore created, so it is dropped at the end. */
function adopt(name: string): TestDatabase {
  const url = new URL(source.url);
  url.pathname = `/${name}`;
  const pgUrl = url.toString();
  const handle = {
    name, url: pgUrl,
    query: async (text: string) => {
      const { default: pg } = await import('pg');
      const c = new pg.Client({ connectionString: pgUrl });
      await c.connect();
      try { return await c.query(text); } finally { await c.end(); }
    },
    close: async () => {
      const { default: pg } = await import('pg');
      const admin = new pg.Client({ connectionString: inject('pgToolsUrl') });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    },
  } as TestDatabase;
  created.push(handle);
  return handle;
}

const newName = (label: string) => `r_${label}_${process.pid}_${Math.random().toString(36).slice(2, 7)}`;

async function makeBackup(dir: string, args: string[] = []) {
  const result = await backupCli('backup:create', [...args, '--json'], source, dir);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
}

describe('backup and restore', () => {
  it('a full backup is atomic, private, described and verified, and round-trips into a new database', async () => {
    const project = await tempDir('backup-full');
    const dir = path.join(project, 'backups');
    const text = await backupCli('backup:create', [], source, dir, { env: { BACKUP_DIR: '' }, cwd: project });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^${dir}/${source.name}_\\d{8}_\\d{6}\\.dump\\n  size .+, \\d+ ms, sha256 [0-9a-f]{64}\\n`));
    expect(text.stdout).toContain('verified: the whole archive was read back');
    const files = (await readdir(dir)).sort();
    expect(files).toHaveLength(2);
    const [dump, manifestFile] = files;
    expect(manifestFile).toBe(`${dump}.manifest.json`);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(path.join(dir, dump))).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(dir, manifestFile))).mode & 0o777).toBe(0o600);
    const manifest = JSON.parse(await readFile(path.join(dir, manifestFile), 'utf8'));
    const sha = execFileSync('sha256sum', [path.join(dir, dump)], { encoding: 'utf8' }).split(' ')[0];
    expect(manifest).toMatchObject({ database: source.name, kind: 'full', format: 'custom', sha256: sha, size: (await stat(path.join(dir, dump))).size, pinned: false, schemaVersion: { version: '42', dirty: false }, verified: { method: 'full-read' } });
    expect(manifest.serverVersion).toMatch(/^\d+\.\d+/);
    expect(manifest.pgDumpVersion.split('.')[0]).toBe(manifest.serverVersion.split('.')[0]);
    const name = newName('full');
    const restored = await backupCli('backup:restore', [path.join(dir, dump), '--new', name], source, dir);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toContain(`into new database ${name}`);
    expect(await contentOf(adopt(name))).toEqual(original);
  });

  it('schema-only and data-only backups restore to the same content', async () => {
    const dir = await tempDir('backup-parts');
    const schema = await makeBackup(dir, ['--schema-only']);
    const data = await makeBackup(dir, ['--data-only']);
    expect(path.basename(schema.path)).toMatch(/_schema\.dump$/);
    expect(path.basename(data.path)).toMatch(/_data\.dump$/);
    const name = newName('parts');
    expect((await backupCli('backup:restore', [schema.path, '--new', name], source, dir)).code).toBe(0);
    const target = adopt(name);
    expect(await contentOf(target)).toEqual({ schema_migrations: '0:', customers: '0:', orders: '0:' });
    const url = new URL(source.url);
    url.pathname = `/${name}`;
    const intoExisting = await backupCli('backup:restore', [data.path, '--yes'], { url: url.toString() } as TestDatabase, dir);
    expect(intoExisting.code, intoExisting.stderr).toBe(0);
    expect(await contentOf(target)).toEqual(original);
  });

  it('restores over an existing database with --clean, and only with confirmation', async () => {
    const dir = await tempDir('backup-clean');
    const { path: file } = await makeBackup(dir);
    const scratch = await createTestDatabase('clean_target', inject('pgToolsUrl'));
    created.push(scratch);
    const unconfirmed = await backupCli('backup:restore', [file, '--clean'], scratch, dir);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toMatch(/^CONFIRMATION_REQUIRED/);
    expect((await backupCli('backup:restore', [file, '--yes'], scratch, dir)).code).toBe(0);
    await scratch.query("UPDATE customers SET name = 'changed'; DELETE FROM orders WHERE id < 100");
    expect(await contentOf(scratch)).not.toEqual(original);
    const again = await backupCli('backup:restore', [file, '--clean', '--yes'], scratch, dir);
    expect(again.code, again.stderr).toBe(0);
    expect(await contentOf(scratch)).toEqual(original);
  });

  it('a directory-format backup with --jobs round-trips', async () => {
    const dir = await tempDir('backup-dir');
    const result = await makeBackup(dir, ['--format', 'directory', '--jobs', '2']);
    expect(result.manifest.files.map((f: any) => f.name)).toContain('toc.dat');
    expect((await stat(result.path)).mode & 0o777).toBe(0o700);
    const name = newName('dirfmt');
    const restored = await backupCli('backup:restore', [result.path, '--new', name, '--jobs', '2'], source, dir);
    expect(restored.code, restored.stderr).toBe(0);
    expect(await contentOf(adopt(name))).toEqual(original);
  });

  it('a truncated archive and a flipped byte are caught by verify and refused by restore', async () => {
    const dir = await tempDir('backup-damage');
    const { path: file } = await makeBackup(dir);
    expect((await backupCli('backup:verify', [file], source, dir)).code).toBe(0);
    const size = (await stat(file)).size;
    const truncated = path.join(dir, 'truncated.dump');
    await copyFile(file, truncated);
    await copyFile(`${file}.manifest.json`, `${truncated}.manifest.json`);
    await writeFile(`${truncated}.manifest.json`, (await readFile(`${truncated}.manifest.json`, 'utf8')).replace(path.basename(file), 'truncated.dump'));
    await truncate(truncated, Math.floor(size * 0.6));
    const flipped = path.join(dir, 'flipped.dump');
    await copyFile(file, flipped);
    await writeFile(`${flipped}.manifest.json`, (await readFile(`${file}.manifest.json`, 'utf8')).replace(path.basename(file), 'flipped.dump'));
    const handle = await open(flipped, 'r+');
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, Math.floor(size / 2));
    await handle.write(Buffer.from([byte[0] ^ 0xff]), 0, 1, Math.floor(size / 2));
    await handle.close();
    // The same truncation without a manifest: the full read catches it (pg_restore --list alone would not).
    const bare = path.join(dir, 'bare.dump');
    await copyFile(truncated, bare);
    for (const damaged of [truncated, flipped, bare]) {
      const verify = await backupCli('backup:verify', [damaged], source, dir);
      expect(verify.code, damaged).toBe(1);
      expect(verify.stderr, damaged).toMatch(/^BACKUP_VERIFY_FAILED/);
      const name = newName('damaged');
      const restore = await backupCli('backup:restore', [damaged, '--new', name], source, dir);
      expect(restore.stderr, damaged).toMatch(/^BACKUP_VERIFY_FAILED/);
      const { rows } = await source.query(`SELECT 1 FROM pg_database WHERE datname = '${name}'`);
      expect(rows).toEqual([]);
    }
  });

  it('restores plain .sql and .sql.gz dumps through psql with ON_ERROR_STOP', async () => {
    const dir = await tempDir('backup-sql');
    const bin = inject('pgToolsBinDir');
    const env = { ...process.env, PGPASSWORD: decodeURIComponent(new URL(source.url).password) };
    const u = new URL(source.url);
    const plain = execFileSync(path.join(bin, 'pg_dump'), ['-h', u.hostname, '-p', u.port, '-U', 'postgres', source.name], { env });
    await writeFile(path.join(dir, 'legacy.sql'), plain);
    await writeFile(path.join(dir, 'legacy.sql.gz'), execFileSync('gzip', ['-c'], { input: plain }));
    for (const file of ['legacy.sql', 'legacy.sql.gz']) {
      const name = newName('sql');
      const result = await backupCli('backup:restore', [file, '--new', name], source, dir);
      expect(result.code, result.stderr).toBe(0);
      expect(await contentOf(adopt(name))).toEqual(original);
    }
    await writeFile(path.join(dir, 'broken.sql'), 'CREATE TABLE a (id int);\nINSERT INTO missing VALUES (1);\nCREATE TABLE b (id int);\n');
    const name = newName('broken');
    const broken = await backupCli('backup:restore', ['broken.sql', '--new', name], source, dir);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/^RESTORE_FAILED[^]*relation "missing" does not exist[^]*dropped again/);
    expect((await source.query(`SELECT 1 FROM pg_database WHERE datname = '${name}'`)).rows).toEqual([]);
  });

  it('never reuses a name: two backups in the same second get two files', async () => {
    const { backup, loadBackupSettings } = await import('../src/index.js');
    const dir = await tempDir('same-second');
    const settings = loadBackupSettings({ env: { DATABASE_URL: source.url, BACKUP_DIR: dir, PG_BIN_DIR: inject('pgToolsBinDir') } });
    const now = () => new Date('2026-05-01T03:04:05Z');
    const first = await backup(settings, { now });
    const second = await backup(settings, { now });
    expect(path.basename(first.path)).toBe(`${source.name}_20260501_030405.dump`);
    expect(path.basename(second.path)).toBe(`${source.name}_20260501_030405_2.dump`);
    expect((await readdir(dir)).sort()).toHaveLength(4);
  });

  it('backup:verify --restore-test restores into a scratch database and drops it', async () => {
    const dir = await tempDir('backup-rt');
    await makeBackup(dir, ['--no-verify']);
    const list = JSON.parse((await backupCli('backup:list', ['--json'], source, dir)).stdout);
    expect(list[0].verified).toBe(false);
    const result = await backupCli('backup:verify', ['--latest', '--restore-test'], source, dir);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('restore test: 3 tables restored');
    const after = JSON.parse((await backupCli('backup:list', ['--json'], source, dir)).stdout);
    expect(after[0].verified).toBe(true);
    const { rows } = await source.query("SELECT datname FROM pg_database WHERE datname LIKE 'tidemark_verify_%'");
    expect(rows).toEqual([]);
  });
});
