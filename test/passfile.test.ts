import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chown, mkdir, mkdtemp, readdir, readFile, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { ROOT, collect, runCli, spawnCli } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { standIn, tempDir } from './helpers/backup.js';
import { waitFor } from './helpers/wait.js';

// A small program around src/pgtools/passfile.ts, run as a real process: what
// restore --new and backup:verify --restore-test do with a passfile while
// their client program runs, without signal handling of their own.
const DRIVER = `
import { removeLeftBehind, writePassfile } from './src/pgtools/passfile.ts';
const [mode, password] = process.argv.slice(2);
if (mode === 'sweep') {
  removeLeftBehind();
  process.exit(0);
}
if (mode === 'handled') process.on('SIGTERM', () => process.exit(143));
// As the commands' interrupt handling: a once listener that stops the work, which then exits.
if (mode === 'once') process.once('SIGTERM', () => setImmediate(() => process.exit(143)));
const files = [writePassfile(password), ...(mode === 'two' ? [writePassfile(password)] : [])];
if (mode === 'exit') process.exit(0);
process.stdout.write(files.map((f) => f.path).join('\\n') + '\\n');
setInterval(() => undefined, 1 << 30);
`;

let driver: string;
beforeAll(async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'tidemark-passfile-driver-'));
  driver = path.join(dir, 'driver.cjs');
  await build({ stdin: { contents: DRIVER, resolveDir: ROOT, loader: 'ts' }, bundle: true, platform: 'node', format: 'cjs', outfile: driver, logLevel: 'warning' });
});

const PASSWORD = 'pf-s3cr:et\\x';

function startDriver(mode: string, tmp: string): { child: ChildProcess; paths: Promise<string[]>; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const child = spawn(process.execPath, [driver, mode, PASSWORD], { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const paths = new Promise<string[]>((resolve) => child.stdout!.on('data', (d) => {
    out += d;
    if (out.endsWith('\n')) resolve(out.trim().split('\n'));
  }));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return { child, paths, exited };
}

const privateTmp = () => mkdtemp(path.join(tmpdir(), 'tidemark-passfile-tmp-'));
const leftIn = async (tmp: string) => (await readdir(tmp)).filter((name) => name.startsWith('tidemark-pg-'));

describe('passfiles', () => {
  it('is a 0600 file, in a 0700 directory named with the pid, holding the password escaped for libpq', async () => {
    const tmp = await privateTmp();
    const { child, paths, exited } = startDriver('wait', tmp);
    const [file] = await paths;
    expect(path.basename(path.dirname(file))).toMatch(new RegExp(`^tidemark-pg-${child.pid}-[A-Za-z0-9]{6}$`));
    expect((await stat(path.dirname(file))).mode & 0o777).toBe(0o700);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, 'utf8')).toBe('*:*:*:*:pf-s3cr\\:et\\\\x\n');
    child.kill('SIGTERM');
    await exited;
  });

  it.each([
    ['SIGTERM, not handled by the program', 'wait', 'SIGTERM', { code: null, signal: 'SIGTERM' }],
    ['SIGINT, not handled by the program', 'wait', 'SIGINT', { code: null, signal: 'SIGINT' }],
    ['SIGTERM, with two passfiles', 'two', 'SIGTERM', { code: null, signal: 'SIGTERM' }],
    ['SIGTERM, handled by the program with process.exit', 'handled', 'SIGTERM', { code: 143, signal: null }],
    ['SIGTERM, handled by a once listener of the program, which exits later', 'once', 'SIGTERM', { code: 143, signal: null }],
  ] as const)('is removed on %s, and the program ends as it would have', async (_what, mode, signal, ending) => {
    const tmp = await privateTmp();
    const { child, paths, exited } = startDriver(mode, tmp);
    const files = await paths;
    expect(files).toHaveLength(mode === 'two' ? 2 : 1);
    for (const file of files) expect(existsSync(file)).toBe(true);
    child.kill(signal);
    expect(await exited).toEqual(ending);
    expect(await leftIn(tmp)).toEqual([]);
  });

  it('is removed when the program exits by itself', async () => {
    const tmp = await privateTmp();
    expect(await startDriver('exit', tmp).exited).toEqual({ code: 0, signal: null });
    expect(await leftIn(tmp)).toEqual([]);
  });

  it('SIGKILL leaves it; the next run removes directories of dead processes of ours, and nothing else', async () => {
    const tmp = await privateTmp();
    const { child, paths, exited } = startDriver('wait', tmp);
    const [file] = await paths;
    child.kill('SIGKILL');
    await exited;
    expect(existsSync(file)).toBe(true);

    const dead = spawnSync('true').pid!;
    const kept = [`tidemark-pg-${process.pid}-abcdef`, 'tidemark-pg-notapid-abcdef', `tidemark-pg-${dead}-forgn1`, `tidemark-pg-${dead}-symlk1`];
    await mkdir(path.join(tmp, kept[0]));
    await mkdir(path.join(tmp, kept[1]));
    await mkdir(path.join(tmp, kept[2]));
    await chown(path.join(tmp, kept[2]), 65534, 65534);
    const target = path.join(tmp, 'elsewhere');
    await mkdir(target);
    await writeFile(path.join(target, 'keep'), 'x');
    await symlink(target, path.join(tmp, kept[3]));
    await mkdir(path.join(tmp, `tidemark-pg-${dead}-xyzXYZ`));

    expect(await startDriver('sweep', tmp).exited).toEqual({ code: 0, signal: null });
    expect(existsSync(path.dirname(file))).toBe(false);
    expect((await leftIn(tmp)).sort()).toEqual([...kept].sort());
    expect(existsSync(path.join(target, 'keep'))).toBe(true);
  });

  it('removes loose passfiles of earlier releases once they are a day old, and no others', async () => {
    const tmp = await privateTmp();
    const old = path.join(tmp, 'tidemark-0123456789abcdef.pgpass');
    const fresh = path.join(tmp, 'tidemark-fedcba9876543210.pgpass');
    const other = path.join(tmp, 'tidemark-notours.pgpass');
    for (const file of [old, fresh, other]) await writeFile(file, '*:*:*:*:secret\n', { mode: 0o600 });
    const twoDaysAgo = new Date(Date.now() - 48 * 3_600_000);
    await utimes(old, twoDaysAgo, twoDaysAgo);
    await utimes(other, twoDaysAgo, twoDaysAgo);
    expect(await startDriver('sweep', tmp).exited).toEqual({ code: 0, signal: null });
    expect(existsSync(old)).toBe(false);
    expect(existsSync(fresh)).toBe(true);
    expect(existsSync(other)).toBe(true);
  });
});

describe('restore --new and backup:verify --restore-test, interrupted while pg_restore runs', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('passfile_restore', inject('pgToolsUrl'));
  });
  afterAll(() => db.close());

  it.each([
    ['backup:restore --new', 'SIGINT'],
    ['backup:restore --new', 'SIGTERM'],
    ['backup:verify --restore-test', 'SIGINT'],
    ['backup:verify --restore-test', 'SIGTERM'],
  ] as const)('%s: %s leaves no passfile behind', async (command, signal) => {
    const real = inject('pgToolsBinDir');
    const dir = await tempDir('passfile-restore');
    const dump = path.join(dir, 'small.dump');
    spawnSync(path.join(real, 'pg_dump'), ['-Fc', '-f', dump, '-d', db.url]);
    const log = path.join(dir, 'pg_restore.log');
    // pg_restore stands in: it says where its passfile is and waits to be stopped.
    await standIn(dir, 'psql', `exec "${real}/psql" "$@"\n`);
    await standIn(dir, 'pg_restore', [
      // Its version and the archive checks (no --dbname) are the real program's.
      `case " $* " in *" --dbname "*) ;; *) exec "${real}/pg_restore" "$@" ;; esac`,
      `printf '%s %s\\n%s\\n' "$$" "$PGPASSFILE" "$*" > '${log}'`,
      'exec sleep 300',
    ].join('\n'));
    const tmp = await privateTmp();
    const [target, ...flags] = command.split(' ');
    const args = target === 'backup:restore' ? [dump, '--new', `${db.name}_copy`] : [dump, ...flags];
    const cli = spawnCli(target, args, { env: { DATABASE_URL: db.url, BACKUP_DIR: dir, PG_BIN_DIR: dir, TMPDIR: tmp } });
    const ended = collect(cli);
    const written = await waitFor(async () => (await readFile(log, 'utf8').catch(() => '')).includes('\n') && readFile(log, 'utf8'), 'pg_restore to start');
    const [first, argv] = written.split('\n');
    const [pid, passfile] = first.split(' ');
    try {
      expect(passfile).toMatch(new RegExp(`^${tmp}/tidemark-pg-${cli.pid}-[A-Za-z0-9]{6}/`));
      expect(existsSync(passfile)).toBe(true);
      cli.kill(signal);
      const result = await ended;
      expect(result.code === 128 + constants.signals[signal] || result.signal === signal, JSON.stringify(result)).toBe(true);
      expect(await leftIn(tmp)).toEqual([]);
    } finally {
      try {
        process.kill(Number(pid));
      } catch {
        // Stopped with the command already.
      }
      const restoredInto = /--dbname (\S+)/.exec(argv)![1];
      await db.query(`DROP DATABASE IF EXISTS "${restoredInto}" WITH (FORCE)`);
    }
  });
});

describe('every client program backup, backup:verify --restore-test and restore --new start', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('passfile_argv_env', inject('pgToolsUrl'));
    await db.query('CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 100) g');
  });
  afterAll(() => db.close());

  it('sees no part of the password in its argv or its environment', async () => {
    const real = inject('pgToolsBinDir');
    const bin = await tempDir('passfile-argv-env');
    const log = path.join(bin, 'children.log');
    // Each stand-in writes the argv and the environment it was started with, then becomes the real program.
    for (const tool of ['pg_dump', 'pg_restore', 'psql']) {
      await standIn(bin, tool, `{ printf '%s\\n' "== ${tool}" "$@"; echo '-- environment'; tr '\\0' '\\n' < /proc/$$/environ; } >> '${log}'\nexec "${real}/${tool}" "$@"\n`);
    }
    const dir = await tempDir('passfile-argv-env-backups');
    // A variable of the user's that holds the password too: it must not reach a child either.
    const env = { DATABASE_URL: db.url, APP_DATABASE_URL: db.url, BACKUP_DIR: dir, PG_BIN_DIR: bin };
    const copy = `${db.name}_copy`.slice(0, 63);
    try {
      const backedUp = await runCli('backup:create', [], { env });
      expect(backedUp.code, backedUp.stderr).toBe(0);
      const file = backedUp.stdout.split('\n')[0];
      const verified = await runCli('backup:verify', [file, '--restore-test'], { env });
      expect(verified.code, verified.stderr).toBe(0);
      const restored = await runCli('backup:restore', [file, '--new', copy], { env });
      expect(restored.code, restored.stderr).toBe(0);
    } finally {
      await db.query(`DROP DATABASE IF EXISTS "${copy}" WITH (FORCE)`);
    }
    const written = await readFile(log, 'utf8');
    const runs = written.split('\n').filter((line) => line.startsWith('== '));
    // The version probes, the dump, its read-back, the verify's reads and test restore, the restore.
    expect(runs.filter((r) => r === '== pg_dump').length).toBeGreaterThanOrEqual(2);
    expect(runs.filter((r) => r === '== pg_restore').length).toBeGreaterThanOrEqual(4);
    expect(written).toMatch(/^PGPASSFILE=.*tidemark-pg-\d+-[A-Za-z0-9]{6}\/libpq\.pgpass$/m);
    const password = decodeURIComponent(new URL(db.url).password);
    const parts = [encodeURIComponent(password), ...Array.from({ length: Math.max(1, password.length - 5) }, (_, i) => password.slice(i, i + 6))];
    for (const part of parts) expect(written.includes(part), `"${part}" of the password is in a child's argv or environment`).toBe(false);
  });
});

describe('backup, while pg_dump runs', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('passfile_backup', inject('pgToolsUrl'));
  });
  afterAll(() => db.close());

  /** Gone: signal 0 finds no such process (it was reaped, not only killed). */
  const gone = (pid: number) => {
    try {
      process.kill(pid, 0);
      return false;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ESRCH';
    }
  };

  /** A backup whose pg_dump says where its passfile is and waits, its stdout open, to be stopped. */
  async function heldBackup() {
    const real = inject('pgToolsBinDir');
    const bin = await tempDir('passfile-backup-bin');
    const log = path.join(bin, 'pg_dump.log');
    await standIn(bin, 'pg_restore', `exec "${real}/pg_restore" "$@"\n`);
    await standIn(bin, 'pg_dump', [
      `if [ "$1" = --version ]; then exec "${real}/pg_dump" --version; fi`,
      `printf '%s %s\\n' "$$" "$PGPASSFILE" > '${log}'`,
      'exec sleep 300',
    ].join('\n'));
    const dir = await tempDir('passfile-backup');
    const tmp = await privateTmp();
    const cli = spawnCli('backup:create', [], { env: { DATABASE_URL: db.url, BACKUP_DIR: dir, PG_BIN_DIR: bin, TMPDIR: tmp } });
    const ended = collect(cli);
    const written = await waitFor(async () => (await readFile(log, 'utf8').catch(() => '')).includes('\n') && readFile(log, 'utf8'), 'pg_dump to start');
    const [pid, passfile] = written.trim().split(' ');
    expect(passfile).toMatch(new RegExp(`^${tmp}/tidemark-pg-${cli.pid}-[A-Za-z0-9]{6}/`));
    expect(existsSync(passfile)).toBe(true);
    return { cli, ended, dump: Number(pid), dir, tmp };
  }

  it('a pg_dump killed mid-run: BACKUP_FAILED naming it, no passfile, no partial file', async () => {
    const run = await heldBackup();
    try {
      process.kill(run.dump, 'SIGKILL');
      const result = await run.ended;
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toMatch(/^BACKUP_FAILED: backup failed\n {2}operation: back up the database\n {2}error: pg_dump was killed by SIGKILL/);
      expect(await leftIn(run.tmp)).toEqual([]);
      expect(await readdir(run.dir)).toEqual([]);
    } finally {
      run.cli.kill('SIGKILL');
    }
  });

  it.each(['SIGINT', 'SIGTERM'] as const)('%s: INTERRUPTED, pg_dump gone, no passfile, no partial file', async (signal) => {
    const run = await heldBackup();
    try {
      run.cli.kill(signal);
      const result = await run.ended;
      expect(result.code, result.stderr).toBe(128 + constants.signals[signal]);
      expect(result.stderr).toContain(`\nINTERRUPTED: interrupted by ${signal}\n`);
      expect(gone(run.dump)).toBe(true);
      expect(await leftIn(run.tmp)).toEqual([]);
      expect(await readdir(run.dir)).toEqual([]);
    } finally {
      if (!gone(run.dump)) process.kill(run.dump, 'SIGKILL');
    }
  });
});
