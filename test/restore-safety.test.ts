import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { collect, spawnCli, type CliResult } from './helpers/cli.js';
import { backupCli, contentOf, seededDatabase, standIn, tempDir } from './helpers/backup.js';
import { waitFor } from './helpers/wait.js';
import { findFreePort, initCluster, startCluster, stopCluster, type ClusterOptions } from '../src/devdb/cluster.js';
import { psqlKnowsRestrict, restrictedScript } from '../src/backup/psql-guard.js';
import { Readable } from 'node:stream';

const toolsUrl = () => inject('pgToolsUrl');
const bin = () => inject('pgToolsBinDir');
const unique = (label: string) => `r_${label}_${process.pid}_${Math.random().toString(36).slice(2, 7)}`;

function urlOf(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function query(url: string, text: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A handle on a database made by a test or a restore, dropped at the end. */
function handle(serverUrl: string, name: string): TestDatabase {
  const url = urlOf(serverUrl, name);
  return {
    name, url, query: (text: string) => query(url, text), release: async () => undefined,
    close: async () => { await query(serverUrl, `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`); },
  } as TestDatabase;
}

const databases = async (serverUrl: string, like: string) => (await query(serverUrl, `SELECT datname FROM pg_database WHERE datname LIKE '${like}'`)).rows.map((r) => r.datname as string);

/** Schema and data: every relation, column, index and constraint of public, and a checksum of every table's rows. */
async function fingerprint(db: TestDatabase): Promise<string> {
  const { rows: [{ schema }] } = await db.query(`SELECT string_agg(x, E'\\n' ORDER BY x) AS schema FROM (
    SELECT 'rel ' || relname || ' ' || relkind::text FROM pg_class WHERE relnamespace = 'public'::regnamespace
    UNION ALL SELECT 'col ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') FROM information_schema.columns WHERE table_schema = 'public'
    UNION ALL SELECT 'idx ' || indexname || ' ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
    UNION ALL SELECT 'con ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = 'public'::regnamespace) s(x)`);
  const tables = (await db.query(`SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY 1`)).rows;
  const data: string[] = [];
  for (const { relname } of tables) {
    const { rows } = await db.query(`SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') AS c FROM public.${pg.escapeIdentifier(relname)} t`);
    data.push(`${relname} ${rows[0].c}`);
  }
  return `${schema}\n${data.join('\n')}`;
}

/**
 * A table whose CHECK waits (on the server, polling the shared catalog) until
 * a role exists: a restore of its dump stops in the middle, in COPY, until
 * the test opens the gate, so that a signal or a restart lands mid-restore.
 */
async function addGate(db: TestDatabase, role: string, serverUrl: string): Promise<void> {
  await db.query(`CREATE FUNCTION public.gate_open(v int) RETURNS boolean LANGUAGE plpgsql AS $$
    BEGIN
      WHILE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = '${role}') LOOP PERFORM pg_catalog.pg_sleep(0.02); END LOOP;
      RETURN true;
    END $$;
    CREATE TABLE gated (id int CHECK (public.gate_open(id)));`);
  await openGate(serverUrl, role);
  await db.query('INSERT INTO gated VALUES (1), (2)');
  await closeGate(serverUrl, role);
}
const openGate = (serverUrl: string, role: string) => query(serverUrl, `CREATE ROLE ${role}`);
const closeGate = (serverUrl: string, role: string) => query(serverUrl, `DROP ROLE IF EXISTS ${role}`);

/** Waits until a restore's session sits at the gate in a database matching `like`. */
function atGate(serverUrl: string, like: string): Promise<string> {
  return waitFor(async () => (await query(serverUrl, `SELECT datname FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname LIKE '${like}'`)).rows[0]?.datname as string | undefined,
    `a restore waiting at the gate in ${like}`, 60_000);
}

async function dumpOf(db: TestDatabase, dir: string, url = db.url): Promise<string> {
  const made = await backupCli('backup:create', ['--json'], { url } as TestDatabase, dir);
  expect(made.code, made.stderr).toBe(0);
  return JSON.parse(made.stdout).path;
}

let source: TestDatabase;
let original: Record<string, string>;
const cleanup: TestDatabase[] = [];
const roles: string[] = [];
beforeAll(async () => {
  source = await seededDatabase('safety_src');
  original = await contentOf(source);
});
afterAll(async () => {
  await Promise.all([source, ...cleanup].map((db) => db.close().catch(() => undefined)));
  for (const role of roles) await closeGate(toolsUrl(), role).catch(() => undefined);
});

describe('restore over an existing database: all or nothing', () => {
  it('a --clean restore that fails half-way leaves schema and data exactly as they were', async () => {
    const dir = await tempDir('clean-fail');
    const file = await dumpOf(source, dir);
    const target = await createTestDatabase('clean_fail', toolsUrl());
    cleanup.push(target);
    expect((await backupCli('backup:restore', [file, '--yes'], target, dir)).code).toBe(0);
    // A table the dump knows nothing of holds a foreign key to customers: --clean cannot drop customers_pkey.
    await target.query(`CREATE TABLE extra (id int PRIMARY KEY, customer_id int REFERENCES customers (id));
      INSERT INTO extra VALUES (1, 1); UPDATE customers SET name = 'changed' WHERE id <= 10`);
    const before = await fingerprint(target);
    const result = await backupCli('backup:restore', [file, '--clean', '--yes'], target, dir);
    expect(result.code).toBe(1);
    expect(await fingerprint(target)).toBe(before);
    expect(result.stderr).toMatch(/^RESTORE_FAILED[^]*other objects depend on it[^]*one transaction, which was rolled back/);
  });

  it('--jobs over an existing database is refused, pointing at --new NAME --jobs N', async () => {
    const dir = await tempDir('jobs-existing');
    const file = await dumpOf(source, dir);
    const result = await backupCli('backup:restore', [file, '--yes', '--jobs', '2'], source, dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^INVALID_ARGUMENT[^]*--new NAME --jobs N/);
  });
});

describe('plain SQL runs in a restricted psql', () => {
  it('the stream psql gets: our \\restrict first, the file\'s own pair dropped, COPY data untouched, at any chunk size', async () => {
    const script = [
      '--', '\\restrict FILEKEY1', '', 'SET client_encoding = \'UTF8\';', 'COPY public.t (a) FROM stdin;',
      // A value beginning with a carriage return is written as \r: this data line must reach psql as it is.
      '\\restrict not-a-command', 'x\\.y', '\\.', '\\! echo refused by psql', '\\unrestrict FILEKEY1', '',
    ].join('\n');
    const expected = ['\\restrict OURKEY', '--', '', 'SET client_encoding = \'UTF8\';', 'COPY public.t (a) FROM stdin;',
      '\\restrict not-a-command', 'x\\.y', '\\.', '\\! echo refused by psql', ''].join('\n');
    for (let size = 1; size <= 9; size++) {
      const bytes = Buffer.from(script);
      const chunks = Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size));
      let out = '';
      for await (const chunk of restrictedScript(Readable.from(chunks), 'OURKEY')) out += chunk;
      expect(out, `chunks of ${size}`).toBe(expected);
    }
    expect([psqlKnowsRestrict('15.13'), psqlKnowsRestrict('15.14'), psqlKnowsRestrict('16.9'), psqlKnowsRestrict('17.6'), psqlKnowsRestrict('18.0'), psqlKnowsRestrict('12.22')])
      .toEqual([false, true, false, true, true, false]);
  });

  it('\\! and \\o | in a .sql file are refused: nothing of the file is restored and no program runs', async () => {
    const dir = await tempDir('psql-guard');
    const marker = path.join(dir, 'marker');
    await writeFile(path.join(dir, 'bang.sql'), `CREATE TABLE before_bang (id int);\n\\! touch ${marker}\nCREATE TABLE after_bang (id int);\n`);
    // The file's own \restrict and \unrestrict are dropped from the stream; they cannot lift ours.
    await writeFile(path.join(dir, 'pipe.sql'), `\\restrict abc\nCREATE TABLE before_pipe (id int);\n\\unrestrict abc\n\\o |touch ${marker}\nSELECT 1;\n`);
    const target = await createTestDatabase('psql_guard', toolsUrl());
    cleanup.push(target);
    for (const file of ['bang.sql', 'pipe.sql']) {
      const name = unique('guard');
      const copy = await backupCli('backup:restore', [file, '--new', name], source, dir);
      expect(copy.code, file).toBe(1);
      expect(copy.stderr, file).toMatch(/^RESTORE_FAILED[^]*backslash commands are restricted/);
      expect(await databases(toolsUrl(), name)).toEqual([]);
      const over = await backupCli('backup:restore', [file, '--yes'], target, dir);
      expect(over.code, file).toBe(1);
      expect(existsSync(marker), file).toBe(false);
    }
    const { rows } = await target.query(`SELECT to_regclass('before_bang') AS a, to_regclass('before_pipe') AS b`);
    expect(rows).toEqual([{ a: null, b: null }]);
  });

  it('a plain dump of pg_dump 15, which writes \\restrict itself, still restores', async () => {
    const dir = await tempDir('psql-plain');
    const u = new URL(source.url);
    const plain = execFileSync(path.join(bin(), 'pg_dump'), ['-h', u.hostname, '-p', u.port, '-U', 'postgres', source.name], { env: { ...process.env, PGPASSWORD: decodeURIComponent(u.password) } });
    expect(plain.toString()).toMatch(/^\\restrict [A-Za-z0-9]+$/m);
    await writeFile(path.join(dir, 'plain.sql'), plain);
    const name = unique('plain');
    const result = await backupCli('backup:restore', ['plain.sql', '--new', name], source, dir);
    expect(result.code, result.stderr).toBe(0);
    const copy = handle(toolsUrl(), name);
    cleanup.push(copy);
    expect(await contentOf(copy)).toEqual(original);
  });

  it('a psql too old to know \\restrict is refused before anything runs', async () => {
    const dir = await tempDir('psql-old');
    const fake = await tempDir('psql-old-bin');
    await standIn(fake, 'psql', `if [ "$1" = --version ]; then echo "psql (PostgreSQL) 15.13"; exit 0; fi\necho ran > "${dir}/ran"; exec "${bin()}/psql" "$@"\n`);
    await standIn(fake, 'pg_restore', `exec "${bin()}/pg_restore" "$@"\n`);
    await writeFile(path.join(dir, 'plain.sql'), 'CREATE TABLE t (id int);\n');
    const name = unique('oldpsql');
    const result = await backupCli('backup:restore', ['plain.sql', '--new', name], source, dir, { env: { PG_BIN_DIR: fake } });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^RESTORE_FAILED[^]*psql 15\.13 cannot be kept from running the file's meta-commands[^]*nothing was changed/);
    expect(existsSync(path.join(dir, 'ran'))).toBe(false);
    expect(await databases(toolsUrl(), name)).toEqual([]);
  });
});

describe('copies keep the encoding', () => {
  it.each([['LATIN1', 'e9'], ['SQL_ASCII', 'ff']])('a %s database is copied in its own encoding (byte %s kept as it is), and its restore test reads every row', async (encoding, byte) => {
    const name = unique(`enc_${encoding.toLowerCase()}`);
    await query(toolsUrl(), `CREATE DATABASE ${name} ENCODING '${encoding}' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0`);
    const db = handle(toolsUrl(), name);
    cleanup.push(db);
    await db.query(`CREATE TABLE words (w text); INSERT INTO words VALUES (E'caf\\x${byte}'), ('plain')`);
    const dir = await tempDir(`enc-${encoding}`);
    const file = await dumpOf(db, dir);
    const u = new URL(db.url);
    await writeFile(path.join(dir, 'plain.sql'), execFileSync(path.join(bin(), 'pg_dump'), ['-h', u.hostname, '-p', u.port, '-U', 'postgres', name], { env: { ...process.env, PGPASSWORD: decodeURIComponent(u.password) } }));
    for (const dump of [file, path.join(dir, 'plain.sql')]) {
      const copyName = unique('enc_copy');
      const restored = await backupCli('backup:restore', [dump, '--new', copyName], db, dir);
      expect(restored.code, restored.stderr).toBe(0);
      expect(restored.stdout).toContain(`into new database ${copyName} (${encoding})`);
      const copy = handle(toolsUrl(), copyName);
      cleanup.push(copy);
      const { rows: [facts] } = await query(toolsUrl(), `SELECT pg_encoding_to_char(encoding) AS e, datcollate AS c FROM pg_database WHERE datname = '${copyName}'`);
      expect(facts).toEqual({ e: encoding, c: 'C' });
      const { rows } = await copy.query(`SELECT encode(convert_to(w, getdatabaseencoding()), 'hex') AS hex FROM words ORDER BY w`);
      expect(rows.map((r) => r.hex)).toEqual([`636166${byte}`, Buffer.from('plain').toString('hex')]);
    }
    const verified = await backupCli('backup:verify', [file, '--restore-test'], db, dir);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toContain(`restore test: 1 tables restored into a scratch database (${encoding}), 2 rows read back, then dropped`);
  });
  it('the encoding, collation and ctype a manifest records are the copy\'s', async () => {
    const dir = await tempDir('enc-manifest');
    const file = await dumpOf(source, dir);
    const manifest = JSON.parse(await readFile(`${file}.manifest.json`, 'utf8'));
    await writeFile(`${file}.manifest.json`, JSON.stringify({ ...manifest, encoding: 'UTF8', collate: 'C.utf8', ctype: 'C.utf8' }));
    const name = unique('enc_manifest');
    const restored = await backupCli('backup:restore', [file, '--new', name], source, dir);
    expect(restored.code, restored.stderr).toBe(0);
    cleanup.push(handle(toolsUrl(), name));
    const { rows } = await query(toolsUrl(), `SELECT pg_encoding_to_char(encoding) AS e, datcollate AS c, datctype AS t FROM pg_database WHERE datname = '${name}'`);
    expect(rows).toEqual([{ e: 'UTF8', c: 'C.utf8', t: 'C.utf8' }]);
  });
});

describe('restore --new: a temporary name, renamed when done', () => {
  it('two restores of the same name at once: one wins, the other gets RESTORE_TARGET_EXISTS, neither harms the other', async () => {
    const role = `gate_${process.pid}_${Math.random().toString(36).slice(2, 7)}`;
    roles.push(role);
    const db = await seededDatabase('safety_race');
    cleanup.push(db);
    await addGate(db, role, toolsUrl());
    const dir = await tempDir('race');
    const file = await dumpOf(db, dir);
    const name = unique('race');
    const env = { DATABASE_URL: db.url, BACKUP_DIR: dir, PG_BIN_DIR: bin() };
    const children = [spawnCli('backup:restore', [file, '--new', name], { env }), spawnCli('backup:restore', [file, '--new', name], { env })];
    const results = children.map((c) => collect(c));
    await Promise.all(children.map((c) => atGate(toolsUrl(), `tidemark\\_restoring\\_${c.pid}\\_%`)));
    await openGate(toolsUrl(), role);
    const done = await Promise.all(results);
    cleanup.push(handle(toolsUrl(), name));
    const codes = done.map((r) => r.code).sort();
    expect(codes, done.map((r) => r.stderr).join('\n')).toEqual([0, 1]);
    const loser = done.find((r) => r.code === 1)!;
    expect(loser.stderr).toMatch(new RegExp(`^RESTORE_TARGET_EXISTS: the database exists\\n[^]*database ${name} already exists[^]*was dropped again`));
    expect(loser.stderr).not.toMatch(/duplicate key/);
    expect(await contentOf(handle(toolsUrl(), name))).toEqual(await contentOf(db));
    for (const child of children) expect(await databases(toolsUrl(), `tidemark\\_restoring\\_${child.pid}\\_%`)).toEqual([]);
  });
});

describe('interrupts', () => {
  let gatedDb: TestDatabase;
  let dir: string;
  let file: string;
  const role = `gate_${process.pid}_sig`;
  beforeAll(async () => {
    roles.push(role);
    gatedDb = await seededDatabase('safety_sig');
    cleanup.push(gatedDb);
    await addGate(gatedDb, role, toolsUrl());
    dir = await tempDir('signals');
    file = await dumpOf(gatedDb, dir);
  });

  async function interrupt(args: string[], target: string, db: TestDatabase, like: (pid: number) => string, signal: NodeJS.Signals): Promise<CliResult> {
    const child = spawnCli(target, args, { env: { DATABASE_URL: db.url, BACKUP_DIR: dir, PG_BIN_DIR: bin() } });
    const result = collect(child);
    await atGate(toolsUrl(), like(child.pid!));
    child.kill(signal);
    return result;
  }

  it('SIGINT during restore --new stops pg_restore and drops the temporary database: exit 130', async () => {
    const name = unique('sigint');
    let pid = 0;
    const result = await interrupt([file, '--new', name], 'backup:restore', gatedDb, (p) => `tidemark\\_restoring\\_${(pid = p)}\\_%`, 'SIGINT');
    expect(result.code).toBe(130);
    expect(result.stderr).toMatch(/^SIGINT: stopping the restore and dropping the new database/m);
    expect(result.stderr).toMatch(/^INTERRUPTED: interrupted by SIGINT\n[^]*the temporary database tidemark_restoring_\d+_\w+ was dropped again; nothing was created/m);
    expect(await databases(toolsUrl(), `tidemark\\_restoring\\_${pid}\\_%`)).toEqual([]);
    expect(await databases(toolsUrl(), name)).toEqual([]);
  });

  it('SIGTERM during restore --clean --yes rolls the transaction back: the database is as it was, exit 143', async () => {
    const target = await createTestDatabase('sig_clean', toolsUrl());
    cleanup.push(target);
    await openGate(toolsUrl(), role);
    expect((await backupCli('backup:restore', [file, '--yes'], target, dir)).code).toBe(0);
    await closeGate(toolsUrl(), role);
    await target.query(`UPDATE customers SET name = 'changed' WHERE id <= 10; DELETE FROM orders WHERE id > 4990`);
    const before = await fingerprint(target);
    const result = await interrupt([file, '--clean', '--yes'], 'backup:restore', target, () => target.name, 'SIGTERM');
    expect(result.code).toBe(143);
    expect(result.stderr).toMatch(/^INTERRUPTED: interrupted by SIGTERM\n[^]*its transaction rolled back: \S+ is as it was/m);
    expect(await query(toolsUrl(), `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = '${target.name}' AND application_name LIKE 'tidemark_restore_%'`).then((r) => r.rows[0].n)).toBe(0);
    expect(await fingerprint(target)).toBe(before);
  });

  it('SIGINT during backup:verify --restore-test drops the scratch database: exit 130', async () => {
    let pid = 0;
    const result = await interrupt([file, '--restore-test'], 'backup:verify', gatedDb, (p) => `tidemark\\_verify\\_${(pid = p)}\\_%`, 'SIGINT');
    expect(result.code).toBe(130);
    expect(result.stderr).toMatch(/^INTERRUPTED: interrupted by SIGINT\n[^]*the temporary database tidemark_verify_\d+_\w+ was dropped again/m);
    expect(await databases(toolsUrl(), `tidemark\\_verify\\_${pid}\\_%`)).toEqual([]);
  });
});

describe('a server that restarts mid-restore (a private server)', () => {
  let opts: ClusterOptions;
  let root: string;
  let serverUrl: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'tidemark-restart-'));
    opts = {
      binDir: bin(), dataDir: path.join(root, 'data'), port: await findFreePort(), user: 'postgres',
      password: `pw-${Math.random().toString(36).slice(2)}`, logFile: path.join(root, 'postgres.log'),
    };
    await initCluster(opts);
    await startCluster(opts);
    serverUrl = `postgres://postgres:${opts.password}@127.0.0.1:${opts.port}/postgres`;
  });
  afterAll(async () => {
    await stopCluster(opts).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  });

  it('the temporary database is dropped after the restart, or named when it cannot be; a later run clears it', async () => {
    const role = 'gate_restart';
    await query(serverUrl, 'CREATE DATABASE app');
    const app = handle(serverUrl, 'app');
    await app.query('CREATE TABLE customers (id int PRIMARY KEY, name text); INSERT INTO customers SELECT g, md5(g::text) FROM generate_series(1, 1000) g');
    await addGate(app, role, serverUrl);
    const dir = await tempDir('restart');
    const file = await dumpOf(app, dir);
    const env = { DATABASE_URL: app.url, BACKUP_DIR: dir, PG_BIN_DIR: bin() };

    // Restarted while pg_restore runs: the drop is retried once the server is back.
    const first = spawnCli('backup:restore', [file, '--new', 'copy'], { env });
    const firstDone = collect(first);
    await atGate(serverUrl, `tidemark\\_restoring\\_${first.pid}\\_%`);
    await stopCluster(opts);
    await startCluster(opts);
    const failed = await firstDone;
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^RESTORE_FAILED[^]*hint: the temporary database tidemark_restoring_\d+_\w+ was dropped again; nothing was created/);
    expect(await databases(serverUrl, 'tidemark\\_%')).toEqual([]);
    expect(await databases(serverUrl, 'copy')).toEqual([]);

    // Stopped for good: the partial database is named, and the next run (its pid gone) drops it.
    const second = spawnCli('backup:restore', [file, '--new', 'copy'], { env });
    const secondDone = collect(second);
    const partial = await atGate(serverUrl, `tidemark\\_restoring\\_${second.pid}\\_%`);
    await stopCluster(opts);
    const gaveUp = await secondDone;
    expect(gaveUp.code).toBe(1);
    expect(gaveUp.stderr).toContain(`the partial database ${partial} remains (the server could not be reached to drop it); drop it with DROP DATABASE ${partial}`);
    await startCluster(opts);
    expect(await databases(serverUrl, partial)).toEqual([partial]);
    await openGate(serverUrl, role);
    const retry = await collect(spawnCli('backup:restore', [file, '--new', 'copy'], { env }));
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.stderr).toContain(`warning: dropped ${partial}, left by an earlier run that is gone`);
    expect(await databases(serverUrl, 'tidemark\\_%')).toEqual([]);
    expect((await handle(serverUrl, 'copy').query('SELECT count(*)::int AS n FROM customers')).rows[0].n).toBe(1000);
    expect(await readFile(opts.logFile, 'utf8')).toMatch(/database system is ready to accept connections[^]*database system is ready to accept connections/);
  }, 180_000);
});
