// What the backup workloads (W4, W5) share: the database they dump, generated
// once per run of the harness on the backup server, the archive W5 restores,
// and how tidemark and PostgreSQL's own client programs are started against it.
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../lib/paths.mjs';
import { run } from '../lib/tools.mjs';
import { expectSuccess } from './common.mjs';

export const DATABASE = 'bench_data';
const GB = 1024 ** 3;

export const megabytes = (bytes) => `${(bytes / 1024 ** 2).toFixed(0)} MB`;

/**
 * The generated schema, set-based (INSERT … SELECT generate_series) and
 * deterministic: accounts, events (the bulk: text payload, numeric amounts,
 * two indexes) and notes, with foreign keys added after the load.
 */
function generationSql(events) {
  const accounts = Math.max(100, Math.floor(events / 20));
  const notes = Math.max(100, Math.floor(events / 8));
  return {
    accounts,
    notes,
    statements: [
      `CREATE TABLE accounts (
         id bigint PRIMARY KEY, email text NOT NULL, name text NOT NULL,
         balance numeric(14,2) NOT NULL, created_at timestamptz NOT NULL)`,
      `INSERT INTO accounts
         SELECT i, 'user' || i || '@example.com', initcap(substr(md5(i::text), 1, 12)),
                ((i * 7919) % 10000000) / 100.0, timestamptz '2024-01-01' + i * interval '1 minute'
           FROM generate_series(1::bigint, ${accounts}) i`,
      'CREATE UNIQUE INDEX accounts_email_key ON accounts (email)',
      `CREATE TABLE events (
         id bigint PRIMARY KEY, account_id bigint NOT NULL, kind text NOT NULL,
         amount numeric(12,2) NOT NULL, payload text NOT NULL, created_at timestamptz NOT NULL)`,
      `INSERT INTO events
         SELECT i, 1 + (i * 7919) % ${accounts}, (ARRAY['deposit', 'withdrawal', 'transfer', 'fee', 'refund'])[(1 + i % 5)::int],
                ((i * 2654435761) % 10000000) / 100.0,
                md5(i::text) || ' ' || md5((i * 31)::text) || ' order ' || (i % 9973) || ' ' || repeat(chr((97 + i % 26)::int), (1 + i % 40)::int),
                timestamptz '2024-01-01' + i * interval '1 second'
           FROM generate_series(1::bigint, ${events}) i`,
      'CREATE INDEX events_account_created_idx ON events (account_id, created_at)',
      `CREATE TABLE notes (
         id bigint PRIMARY KEY, account_id bigint NOT NULL, body text NOT NULL, created_at timestamptz NOT NULL)`,
      `INSERT INTO notes
         SELECT i, 1 + (i * 104729) % ${accounts}, repeat(md5(i::text) || ' ', (1 + i % 12)::int), timestamptz '2024-01-01' + i * interval '3 seconds'
           FROM generate_series(1::bigint, ${notes}) i`,
      'ALTER TABLE events ADD FOREIGN KEY (account_id) REFERENCES accounts',
      'ALTER TABLE notes ADD FOREIGN KEY (account_id) REFERENCES accounts',
    ],
  };
}

/**
 * The W4/W5 database on the backup server, generated once per run of the
 * harness (read-only afterwards: every run of W4 dumps the same state), then
 * vacuumed and frozen so that no run is the one that sets hint bits.
 */
export function dataset(ctx, events) {
  const key = `dataset-${events}`;
  ctx.shared[key] ??= (async () => {
    const server = await ctx.backupServer();
    const started = Date.now();
    await server.dropDatabase(DATABASE);
    await server.query(`CREATE DATABASE ${DATABASE}`);
    const { accounts, notes, statements } = generationSql(events);
    for (const sql of statements) await server.query(sql, DATABASE);
    await server.query('VACUUM (FREEZE, ANALYZE)', DATABASE);
    await server.query('CHECKPOINT');
    const { rows } = await server.query(`SELECT pg_database_size('${DATABASE}')::bigint AS size`);
    const sizeBytes = Number(rows[0].size);
    if (ctx.mode === 'full' && sizeBytes < GB) throw new Error(`the generated database is ${megabytes(sizeBytes)}; W4 needs at least 1 GB`);
    const passfile = path.join(ctx.work, 'pgpass');
    await mkdir(ctx.work, { recursive: true });
    // host:port:database:user:password, as libpq reads it; the peers get it through PGPASSFILE.
    await writeFile(passfile, `127.0.0.1:${server.opts.port}:*:${server.opts.user}:${server.opts.password.replace(/([\\:])/g, '\\$1')}\n`, { mode: 0o600 });
    await chmod(passfile, 0o600);
    return { server, events, accounts, notes, sizeBytes, passfile, generatedMs: Date.now() - started };
  })();
  return ctx.shared[key];
}

/**
 * Before a run: the server's dirty pages written (CHECKPOINT) and the
 * system's too (sync), so that no run pays for the previous one's writes.
 * A smoke run's timings are not read: nothing to settle.
 */
export async function settle(ctx, server) {
  if (ctx.mode === 'smoke') return;
  await server.query('CHECKPOINT');
  execFileSync('sync');
}

/** The database's facts for the report. */
export function describeDataset(data) {
  return `Database \`${DATABASE}\`: ${megabytes(data.sizeBytes)} (\`pg_database_size\`): ${data.accounts.toLocaleString('en-US')} accounts, ${data.events.toLocaleString('en-US')} events, ${data.notes.toLocaleString('en-US')} notes, 5 indexes, 2 foreign keys; generated in ${(data.generatedMs / 1000).toFixed(0)} s (not timed).`;
}

const cli = (name) => path.join(ROOT, 'dist/tasks', `${name}.js`);

/** The libpq connection of PostgreSQL's own programs: the same TCP address, user and TLS setting as tidemark's DATABASE_URL. */
export function connectionArgs(server) {
  return ['-h', '127.0.0.1', '-p', String(server.opts.port), '-U', server.opts.user, '--no-password'];
}

const clientEnv = (data) => ({ PGPASSFILE: data.passfile, PGSSLMODE: 'disable' });
const tidemarkEnv = (data, backupDir) => ({ BACKUP_DIR: backupDir, PG_BIN_DIR: data.server.binDir });

export const tools = {
  /** `tidemark backup` (cold CLI), into backupDir. */
  tidemarkBackup: (data, backupDir, { verify = true } = {}) =>
    run(process.execPath, [cli('backup-create'), ...(verify ? [] : ['--no-verify'])], data.server.url(DATABASE), tidemarkEnv(data, backupDir)),
  /** `tidemark restore FILE --new NAME [--jobs N]`. */
  tidemarkRestore: (data, file, name, jobs) =>
    run(process.execPath, [cli('backup-restore'), file, '--new', name, ...(jobs > 1 ? ['--jobs', String(jobs)] : [])], data.server.url('postgres'), tidemarkEnv(data, path.dirname(file))),
  /** `pg_dump -Fc -f FILE`. */
  pgDump: (data, file) =>
    run(path.join(data.server.binDir, 'pg_dump'), [...connectionArgs(data.server), '--format=custom', `--file=${file}`, DATABASE], data.server.url(DATABASE), clientEnv(data)),
  /** `createdb -T template0 NAME && pg_restore --exit-on-error -d NAME [--jobs N] FILE`, as one measured shell. */
  createdbRestore: (data, script, file, name) => run('/bin/sh', [script, name, file], data.server.url('postgres'), clientEnv(data)),
};

/** The shell script of the createdb + pg_restore peer, written into dir. */
export async function restoreScript(data, dir, jobs) {
  const bin = (tool) => `'${path.join(data.server.binDir, tool)}'`;
  const conn = connectionArgs(data.server).join(' ');
  const text = ['#!/bin/sh', 'set -e',
    `${bin('createdb')} ${conn} -T template0 "$1"`,
    `${bin('pg_restore')} ${conn} --exit-on-error${jobs > 1 ? ` --jobs=${jobs}` : ''} --dbname "$1" "$2"`, ''].join('\n');
  await mkdir(dir, { recursive: true });
  const script = path.join(dir, `restore-jobs${jobs}.sh`);
  await writeFile(script, text, { mode: 0o700 });
  return script;
}

/**
 * The archive W5 restores: one `tidemark backup` (verified, with its
 * manifest) of the W4 database, made once per run of the harness.
 */
export function archive(ctx, events) {
  const key = `archive-${events}`;
  ctx.shared[key] ??= (async () => {
    const data = await dataset(ctx, events);
    const dir = path.join(ctx.work, 'w5-archive');
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true, mode: 0o700 });
    expectSuccess('tidemark backup (the archive W5 restores)', await tools.tidemarkBackup(data, dir));
    const file = readdirSync(dir).find((f) => f.endsWith('.dump'));
    if (!file) throw new Error(`tidemark backup wrote no .dump into ${dir}`);
    const manifest = JSON.parse(readFileSync(path.join(dir, `${file}.manifest.json`), 'utf8'));
    return { data, file: path.join(dir, file), size: statSync(path.join(dir, file)).size, manifest };
  })();
  return ctx.shared[key];
}
