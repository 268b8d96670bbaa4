/**
 * Faults injected for real into `task backup`: signals to the real pg_dump
 * and pg_restore, a real full tmpfs, a server that never answers. After
 * each: the exit status and code, nothing under a final name that is not a
 * verified backup, no partial, no lock file, no child process left, the
 * password in no output.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import type { TestDatabase } from './helpers/db.js';
import { collect, spawnCli, type CliResult } from './helpers/cli.js';
import { backupCli, seededDatabase, standIn, tempDir } from './helpers/backup.js';
import { inject } from 'vitest';
import { waitFor } from './helpers/wait.js';

let db: TestDatabase;
let password: string;
beforeAll(async () => {
  db = await seededDatabase('faults');
  // Enough rows that the dump outlasts the pipes' buffers.
  await db.query("CREATE TABLE filler AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text) AS t FROM generate_series(1, 200000) g");
  password = decodeURIComponent(new URL(db.url).password);
});
afterAll(() => db.close());

// A failing test must not leave its gate closed or its processes running for the next one.
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function killIfAlive(pid: number | undefined): void {
  if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
}

const env = (dir: string, extra: Record<string, string> = {}) => ({ DATABASE_URL: db.url, BACKUP_DIR: dir, PG_BIN_DIR: inject('pgToolsBinDir'), ...extra });

/** The processes a process started, with their command lines, read from /proc. */
function childrenOf(pid: number): Array<{ pid: number; cmd: string }> {
  const tasks = `/proc/${pid}/task`;
  if (!existsSync(tasks)) return [];
  const pids = execFileSync('sh', ['-c', `cat ${tasks}/*/children 2>/dev/null || true`], { encoding: 'utf8' }).split(/\s+/).filter(Boolean).map(Number);
  return pids.map((p) => ({ pid: p, cmd: (() => { try { return readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' '); } catch { return ''; } })() }));
}

/** Alive: its /proc entry exists and it is not a zombie. */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Holds pg_dump at its first LOCK TABLE until released, so that faults hit a dump in progress. */
async function gate(): Promise<{ release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query('BEGIN; LOCK TABLE filler IN ACCESS EXCLUSIVE MODE');
  let open = true;
  const release = async () => {
    if (open) await client.end();
    open = false;
  };
  cleanups.push(release);
  return { release };
}

const dumpWaiting = () => waitFor(async () => (await db.query(
  "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'LOCK TABLE%'")).rowCount, 'pg_dump to wait for its table locks');

/** Starts a backup, waits until pg_dump (and the verifier) run and pg_dump waits at the gate. */
async function startHeldBackup(dir: string, args: string[] = [], extraEnv: Record<string, string> = {}): Promise<{ cli: ChildProcess; done: Promise<CliResult>; dump: number; verifier?: number }> {
  const cli = spawnCli('backup:create', args, { env: env(dir, extraEnv) });
  const done = collect(cli);
  const kids = await waitFor(async () => {
    const found = childrenOf(cli.pid!);
    const dump = found.find((c) => c.cmd.includes('pg_dump'));
    const verifier = found.find((c) => c.cmd.includes('pg_restore'));
    return dump && (args.includes('--no-verify') || args.includes('directory') || verifier) ? { dump: dump.pid, verifier: verifier?.pid } : undefined;
  }, 'pg_dump and pg_restore to start');
  cleanups.push(() => [cli.pid, kids.dump, kids.verifier].forEach(killIfAlive));
  await dumpWaiting();
  return { cli, done, ...kids };
}

/** The end state every failed or interrupted run must leave. */
async function expectNothingLeft(dir: string, result: CliResult, pids: Array<number | undefined>): Promise<void> {
  expect(await readdir(dir)).toEqual([]);
  for (const pid of pids) if (pid) expect(alive(pid), `process ${pid} is left`).toBe(false);
  expect(result.stdout + result.stderr).not.toContain(password);
  expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
  await waitFor(async () => (await db.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database()
    AND (query LIKE 'LOCK TABLE%' OR application_name LIKE 'tidemark backup pid %')`)).rowCount === 0, 'the dump and lock sessions to end');
}

describe('a child that dies ends the backup', () => {
  it('SIGKILL of the verifying pg_restore: BACKUP_FAILED naming it, pg_dump stopped, nothing left', async () => {
    const dir = await tempDir('kill-verifier');
    const held = await gate();
    const run = await startHeldBackup(dir);
    process.kill(run.verifier!, 'SIGKILL');
    await held.release();
    const result = await run.done;
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/^BACKUP_FAILED: backup failed\n[^]*pg_restore \(reading the archive back\) was killed by SIGKILL/);
    await expectNothingLeft(dir, result, [run.dump, run.verifier]);
  });

  it('SIGKILL of the real pg_dump: BACKUP_FAILED naming it, the verifier stopped, nothing left', async () => {
    const dir = await tempDir('kill-dump');
    const held = await gate();
    const run = await startHeldBackup(dir);
    process.kill(run.dump, 'SIGKILL');
    const result = await run.done;
    await held.release();
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/^BACKUP_FAILED: backup failed\n[^]*pg_dump was killed by SIGKILL/);
    await expectNothingLeft(dir, result, [run.dump, run.verifier]);
  });
});

describe('the lock never outlives its run', () => {
  it('a 100% full disk: BACKUP_FAILED (no space), nothing left, and the next backup runs once there is room', async () => {
    const dir = await tempDir('full');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', dir]);
    try {
      execFileSync('sh', ['-c', `head -c 1048576 /dev/zero > "${dir}/filler" 2>/dev/null || true`]);
      const result = await backupCli('backup:create', [], db, dir);
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toMatch(/^BACKUP_FAILED: backup failed\n[^]*no space left on the device/);
      expect(await readdir(dir)).toEqual(['filler']);
      expect(result.stdout + result.stderr).not.toContain(password);
      execFileSync('rm', [`${dir}/filler`]);
      execFileSync('mount', ['-o', 'remount,size=64m', dir]);
      const next = await backupCli('backup:create', [], db, dir);
      expect(next.code, next.stderr).toBe(0);
      expect((await readdir(dir)).filter((f) => f.startsWith('.'))).toEqual([]);
    } finally {
      execFileSync('umount', [dir]);
    }
  });

  it.each([
    ['from another host', JSON.stringify({ pid: 1, host: 'backup-cronjob-28391-x7k2p', startedAt: '2026-01-01T03:00:00.000Z' })],
    ['from this host, of a pid that is alive but no backup', JSON.stringify({ pid: 1, host: execFileSync('hostname', { encoding: 'utf8' }).trim(), startedAt: '2026-01-01T03:00:00.000Z' })],
    ['that is empty', ''],
  ])('a lock file %s does not block the next backup', async (_label, content) => {
    const dir = await tempDir('stale-lock');
    const lockFile = path.join(dir, `.${db.name}.backup.lock`);
    await writeFile(lockFile, content);
    const result = await backupCli('backup:create', [], db, dir);
    expect(result.code, result.stderr).toBe(0);
    expect(existsSync(lockFile)).toBe(false);
  });

  it('SIGKILL of a running backup: the next backup runs and removes the dead run\'s partial', async () => {
    const dir = await tempDir('killed-run');
    const held = await gate();
    const run = await startHeldBackup(dir);
    const partial = (await readdir(dir)).find((f) => f.includes('.partial-'));
    expect(partial).toBeDefined();
    // A pod that dies takes its children along.
    for (const pid of [run.cli.pid!, run.dump, run.verifier!]) process.kill(pid, 'SIGKILL');
    await run.done;
    await held.release();
    const next = await backupCli('backup:create', [], db, dir);
    expect(next.code, next.stderr).toBe(0);
    const left = await readdir(dir);
    expect(left.filter((f) => f.startsWith('.'))).toEqual([]);
    expect(left.filter((f) => f.endsWith('.dump'))).toHaveLength(1);
  });

  it('a second backup at once is refused with BACKUP_LOCKED naming the holder\'s process, host and server session', async () => {
    const dir = await tempDir('second');
    const held = await gate();
    const run = await startHeldBackup(dir);
    const second = await backupCli('backup:create', [], db, dir);
    expect(second.code).toBe(1);
    const host = execFileSync('hostname', { encoding: 'utf8' }).trim();
    expect(second.stderr).toMatch(new RegExp(`^BACKUP_LOCKED: another backup is running\\n[^]*a backup of ${db.name} into ${dir} is running: pid ${run.cli.pid} on ${host}, started \\S+; its server session: pid \\d+ \\("tidemark backup pid ${run.cli.pid} on ${host}"`));
    await held.release();
    const first = await run.done;
    expect(first.code, first.stderr).toBe(0);
    expect((await readdir(dir)).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('a lock whose session is terminated on the server fails the backup at once, with nothing left', async () => {
    const dir = await tempDir('lock-lost');
    const held = await gate();
    const run = await startHeldBackup(dir);
    const { rowCount } = await db.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'tidemark backup pid %'");
    expect(rowCount).toBe(1);
    const result = await run.done;
    await held.release();
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/^BACKUP_FAILED: backup failed\n[^]*the backup lock was lost: its connection to the server ended/);
    await expectNothingLeft(dir, result, [run.dump, run.verifier]);
  });
});

describe('the lock held through a container (stand-in docker running the tools here)', () => {
  /** `docker exec -i [-e NAME]... CONTAINER tool args`: runs the tool here, connected as the container's socket would be. */
  async function dockerEnv(): Promise<Record<string, string>> {
    const bin = await tempDir('docker-lock');
    const u = new URL(db.url);
    await standIn(bin, 'docker', `args=("\${@:3}")
while [ "\${args[0]}" = -e ]; do args=("\${args[@]:2}"); done
export PGHOST=${u.hostname} PGPORT=${u.port}
exec "${inject('pgToolsBinDir')}/\${args[1]}" "\${args[@]:2}"\n`);
    return { PG_CONTAINER: 'db', PATH: `${bin}:${process.env.PATH}`, PG_BIN_DIR: '' };
  }

  it('a second backup is refused naming the holder; a killed holder\'s psql session ends and the next backup runs', async () => {
    const dir = await tempDir('container-lock');
    const container = await dockerEnv();
    const held = await gate();
    const run = await startHeldBackup(dir, [], container);
    const lockSession = childrenOf(run.cli.pid!).find((c) => c.cmd.includes('psql'));
    expect(lockSession).toBeDefined();
    const second = await backupCli('backup:create', [], db, dir, { env: container });
    expect(second.code, second.stderr).toBe(1);
    expect(second.stderr).toMatch(new RegExp(`^BACKUP_LOCKED: [^]*: pid ${run.cli.pid} on \\S+, started`));
    // The CLI and its dump die; its psql is left to notice the end of its input, as a container's would.
    for (const pid of [run.cli.pid!, run.dump, run.verifier!]) process.kill(pid, 'SIGKILL');
    await run.done;
    await held.release();
    await waitFor(async () => !alive(lockSession!.pid), 'the lock session\'s psql to end');
    const next = await backupCli('backup:create', [], db, dir, { env: container });
    expect(next.code, next.stderr).toBe(0);
    expect((await readdir(dir)).filter((f) => f.startsWith('.'))).toEqual([]);
  });
});

describe('interrupts', () => {
  it('the API: backup(settings, { signal }) aborted during the dump throws INTERRUPTED and leaves nothing', async () => {
    const { backup, loadBackupSettings } = await import('../src/index.js');
    const dir = await tempDir('api-abort');
    const held = await gate();
    const controller = new AbortController();
    const running = backup(loadBackupSettings({ env: env(dir) }), { signal: controller.signal });
    running.catch(() => undefined);
    await dumpWaiting();
    controller.abort('SIGINT');
    await expect(running).rejects.toMatchObject({ code: 'INTERRUPTED', exitCode: 130, reason: 'interrupted: no backup was written; the partial file was removed and the lock released' });
    await held.release();
    expect(await readdir(dir)).toEqual([]);
  });

  it.each([['SIGTERM', 143], ['SIGINT', 130]] as const)('%s during the dump: INTERRUPTED, exit %i, children stopped, nothing left', async (signal, status) => {
    const dir = await tempDir('interrupt');
    const held = await gate();
    const run = await startHeldBackup(dir);
    run.cli.kill(signal);
    const result = await run.done;
    await held.release();
    expect(result.code, result.stderr).toBe(status);
    expect(result.stderr).toMatch(new RegExp(`^${signal}: stopping pg_dump and removing the partial file`));
    expect(result.stderr).toMatch(new RegExp(`\\nINTERRUPTED: interrupted by ${signal}\\n[^]*no backup was written; the partial file was removed and the lock released`));
    await expectNothingLeft(dir, result, [run.dump, run.verifier]);
  });

  it('SIGTERM while pg_dump --version is asked (choosing the client): exit 143 at once, nothing left', async () => {
    const dir = await tempDir('interrupt-choose');
    const bin = await tempDir('bin-hung-version');
    const fifo = path.join(bin, 'gate');
    execFileSync('mkfifo', [fifo]);
    await standIn(bin, 'pg_dump', `if [ "$1" = --version ]; then touch "${bin}/asked"; cat "${fifo}" > /dev/null; fi
exec "${inject('pgToolsBinDir')}/pg_dump" "$@"\n`);
    const cli = spawnCli('backup:create', [], { env: env(dir, { PG_BIN_DIR: bin }) });
    const done = collect(cli);
    cleanups.push(() => killIfAlive(cli.pid));
    await waitFor(async () => existsSync(path.join(bin, 'asked')), 'pg_dump --version to be asked');
    const asking = childrenOf(cli.pid!);
    // The stand-in stays blocked on its fifo after the command left; it is ours to end.
    cleanups.push(() => asking.forEach((c) => [c.pid, ...childrenOf(c.pid).map((g) => g.pid)].forEach(killIfAlive)));
    cli.kill('SIGTERM');
    const result = await done;
    expect(result.code, result.stderr).toBe(143);
    expect(result.stderr).toMatch(/\nINTERRUPTED: interrupted by SIGTERM\n[^]*no backup was written/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('SIGTERM during a directory-format dump: exit 143, nothing left', async () => {
    const dir = await tempDir('interrupt-dir');
    const held = await gate();
    const run = await startHeldBackup(dir, ['--format', 'directory', '--jobs', '2']);
    run.cli.kill('SIGTERM');
    const result = await run.done;
    await held.release();
    expect(result.code, result.stderr).toBe(143);
    expect(result.stderr).toMatch(/\nINTERRUPTED: interrupted by SIGTERM\n/);
    await expectNothingLeft(dir, result, [run.dump]);
  });

  describe('a server that accepts and never answers', () => {
    let server: net.Server;
    let port: number;
    let connections = 0;
    const sockets: net.Socket[] = [];
    beforeAll(async () => {
      server = net.createServer((socket) => {
        connections++;
        sockets.push(socket);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as net.AddressInfo).port;
    });
    afterAll(async () => {
      sockets.forEach((s) => s.destroy());
      await new Promise((resolve) => server.close(resolve));
    });
    const silentUrl = () => `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${db.name}`;

    it('ends within the connect timeout with a coded error', async () => {
      const dir = await tempDir('silent');
      const result = await backupCli('backup:create', [], { url: silentUrl() } as TestDatabase, dir, { env: { TIDEMARK_CONNECT_TIMEOUT: '1s' } });
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toMatch(/^DB_CONNECT_FAILED: cannot connect to the database\n[^]*no answer from 127\.0\.0\.1:\d+ within 1 s/);
      expect(result.stdout + result.stderr).not.toContain(password);
      expect(await readdir(dir)).toEqual([]);
    });

    it('SIGTERM while connecting exits 143 at once', async () => {
      const dir = await tempDir('silent-term');
      const before = connections;
      const cli = spawnCli('backup:create', [], { env: { ...env(dir), DATABASE_URL: silentUrl(), TIDEMARK_CONNECT_TIMEOUT: '10m' } });
      const done = collect(cli);
      cleanups.push(() => killIfAlive(cli.pid));
      await waitFor(async () => connections > before, 'the backup to connect');
      cli.kill('SIGTERM');
      const result = await done;
      expect(result.code, result.stderr).toBe(143);
      expect(result.stderr).toMatch(/\nINTERRUPTED: interrupted by SIGTERM\n/);
      expect(await readdir(dir)).toEqual([]);
    });
  });
});

describe('private files and unusable directories', () => {
  it('every file of a directory-format backup is 0600, the directory 0700', async () => {
    const dir = await tempDir('dir-modes');
    const result = await backupCli('backup:create', ['--format', 'directory', '--jobs', '2', '--json'], db, dir);
    expect(result.code, result.stderr).toBe(0);
    const archive = JSON.parse(result.stdout).path;
    expect((await stat(archive)).mode & 0o777).toBe(0o700);
    const files = await readdir(archive);
    expect(files.length).toBeGreaterThan(2);
    for (const f of files) expect((await stat(path.join(archive, f))).mode & 0o777, f).toBe(0o600);
    expect((await stat(`${archive}.manifest.json`)).mode & 0o777).toBe(0o600);
  });

  it('a directory where files cannot be created (/proc) is BACKUP_DIR_INVALID, not a raw errno', async () => {
    const result = await backupCli('backup:create', [], db, '/proc');
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/^BACKUP_DIR_INVALID: unusable backup directory\n  operation: use BACKUP_DIR \/proc\n/);
    expect(result.stderr).not.toMatch(/^(Error|node:)/m);
    expect(existsSync(`/proc/.${db.name}.backup.lock`)).toBe(false);
  });

  it('a lock file that is not ours is information only: its content is never read as the lock', async () => {
    const dir = await tempDir('garbage-lock');
    await writeFile(path.join(dir, `.${db.name}.backup.lock`), '\0\0not json');
    const result = await backupCli('backup:create', ['--json'], db, dir);
    expect(result.code, result.stderr).toBe(0);
    const manifest = JSON.parse(await readFile(`${JSON.parse(result.stdout).path}.manifest.json`, 'utf8'));
    expect(manifest.verified.method).toBe('full-read');
  });
});
