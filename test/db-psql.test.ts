import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmod, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ROOT, runCli, spawnCli } from './helpers/cli.js';
import { waitFor } from './helpers/wait.js';
import { quoteBash } from './helpers/go-task.js';
import { findTools } from '../src/pgtools/locate.js';

let db: TestDatabase;
let password: string;
let realPsql: string;
beforeAll(async () => {
  db = await createTestDatabase('psql');
  password = decodeURIComponent(new URL(db.url).password);
  const [tool] = await findTools('psql', process.env);
  if (!tool) throw new Error('these tests need psql installed (Debian: postgresql-client)');
  realPsql = tool.path;
});
afterAll(() => db.close());

/** A stand-in program that records its argv and its PG* environment, then runs what it stands in for. */
async function standIn(name: string, body: string): Promise<{ dir: string; log: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tidemark-standin-'));
  const log = path.join(dir, `${name}.log`);
  await writeFile(path.join(dir, name), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nenv | grep '^PG' | sort >> '${log}'\n${body}\n`);
  await chmod(path.join(dir, name), 0o755);
  return { dir, log };
}

/** A stand-in docker that drops `exec`, its options and the container name, and runs the rest here. */
const dockerStandIn = () => standIn('docker', [
  'shift',
  'while [ "$1" = -i ] || [ "$1" = -t ] || [ "$1" = -e ]; do if [ "$1" = -e ]; then shift; fi; shift; done',
  'shift',
  'exec "$@"',
].join('\n'));

describe('db:psql', () => {
  it('runs psql on the database, with arguments passed on and the password in a passfile, not argv', async () => {
    const { dir, log } = await standIn('psql', `exec '${realPsql}' "$@"`);
    const result = await runCli('db:psql', ['-X', '-A', '-t', '-c', 'SELECT 40 + 2'], { env: { DATABASE_URL: db.url, PG_BIN_DIR: dir } });
    expect(result, result.stderr).toMatchObject({ code: 0, stdout: '42\n' });
    const recorded = await readFile(log, 'utf8');
    expect(recorded).toContain(`-h 127.0.0.1 -p ${new URL(db.url).port} -U postgres -d ${db.name} -X -A -t -c SELECT 40 + 2`);
    expect(recorded).toMatch(/^PGPASSFILE=.+\.pgpass$/m);
    expect(recorded).not.toContain(password);
  });

  it('reads SQL from stdin, and exits with psql\'s status', async () => {
    const piped = await runCli('db:psql', ['-X', '-A', '-t'], { env: { DATABASE_URL: db.url }, input: 'SELECT 6 * 7;\n' });
    expect(piped).toMatchObject({ code: 0, stdout: '42\n' });
    const failed = await runCli('db:psql', ['-X', '-c', 'SELECT nope'], { env: { DATABASE_URL: db.url } });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('column "nope" does not exist');
  });

  it('runs inside PG_CONTAINER through docker exec, the password forwarded by name only', async () => {
    const { dir, log } = await dockerStandIn();
    const url = new URL(db.url);
    const env = { DATABASE_URL: db.url, PG_CONTAINER: 'app-db', PATH: `${dir}:${path.dirname(realPsql)}:${process.env.PATH}`, PGHOST: url.hostname, PGPORT: url.port };
    const result = await runCli('db:psql', ['-X', '-A', '-t', '-c', 'SELECT current_database()'], { env });
    expect(result, result.stderr).toMatchObject({ code: 0, stdout: `${db.name}\n` });
    const recorded = await readFile(log, 'utf8');
    expect(recorded.split('\n')[0]).toBe(`exec -i -e PGPASSWORD -e PGAPPNAME -e PGCONNECT_TIMEOUT app-db psql -U postgres -d ${db.name} -X -A -t -c SELECT current_database()`);
    expect(recorded).toContain('PGPASSWORD=');
    expect(recorded.split('\n')[0]).not.toContain(password);
  });

  it('on a terminal, asks docker for one too (exec -i -t)', async () => {
    const { dir, log } = await dockerStandIn();
    const url = new URL(db.url);
    const env = { ...process.env, DATABASE_URL: db.url, PG_CONTAINER: 'app-db', PATH: `${dir}:${path.dirname(realPsql)}:${process.env.PATH}`, PGHOST: url.hostname, PGPORT: url.port };
    const command = [process.execPath, path.join(ROOT, 'dist/tasks/db-psql.js'), '-X', '-P', 'pager=off', '-A', '-t', '-c', 'SELECT 1'].map(quoteBash).join(' ');
    // `script` runs the command on a pseudo-terminal, as from a person's shell.
    await promisify(execFile)('script', ['-qec', command, '/dev/null'], { env });
    const recorded = await readFile(log, 'utf8');
    expect(recorded.split('\n')[0]).toMatch(/^exec -i -t -e PGPASSWORD -e PGAPPNAME -e PGCONNECT_TIMEOUT app-db psql -U postgres /);
    expect(recorded.split('\n')[0]).not.toContain(password);
  });

  it('is PSQL_NOT_FOUND when there is no psql', async () => {
    const result = await runCli('db:psql', [], { env: { DATABASE_URL: db.url, PG_BIN_DIR: path.join(tmpdir(), 'no-such-dir') } });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^PSQL_NOT_FOUND: cannot start psql\n {2}operation: start psql locally\n {2}error: no psql in PG_BIN_DIR/);
  });
});

describe('db:psql passfile and signals', () => {
  /** The process ids whose parent is `pid`, from /proc. */
  async function childrenOf(pid: number): Promise<number[]> {
    const found: number[] = [];
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) found.push(Number(entry));
    }
    return found;
  }

  /** Running, not a zombie waiting to be reaped. */
  async function running(pid: number): Promise<boolean> {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  }

  /** db:psql reading SQL from a pipe that stays open, with passfiles in a temporary directory of the test's own. */
  async function psqlAtItsInput() {
    const tmp = await mkdtemp(path.join(tmpdir(), 'tidemark-psql-tmp-'));
    const cli = spawnCli('db:psql', ['-X'], { env: { DATABASE_URL: db.url, TMPDIR: tmp } });
    let stderr = '';
    let stdout = '';
    cli.stderr!.on('data', (d) => (stderr += d));
    cli.stdout!.on('data', (d) => (stdout += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => cli.on('close', (code, signal) => resolve({ code, signal })));
    const psql = await waitFor(async () => {
      // psql itself, not the `psql --version` that finds it.
      for (const pid of await childrenOf(cli.pid!)) if (/psql\0-h\0/.test(await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => ''))) return pid;
      return undefined;
    }, 'psql to start');
    // Connected, and so waiting for SQL on its input.
    await waitFor(async () => (await db.query("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'tidemark'")).rowCount, 'psql to connect');
    return { tmp, cli, psql, exited, stderr: () => stderr, stdout: () => stdout };
  }

  const passfileDirs = async (tmp: string, pid: number) => (await readdir(tmp)).filter((name) => name.startsWith(`tidemark-pg-${pid}-`));

  it('SIGTERM ends psql and the command (143) and removes the passfile; meanwhile it is 0600 in a 0700 directory, and the password is in neither argv nor environment', async () => {
    const { tmp, cli, psql, exited, stderr } = await psqlAtItsInput();
    const environ = (await readFile(`/proc/${psql}/environ`, 'utf8')).split('\0');
    const cmdline = await readFile(`/proc/${psql}/cmdline`, 'utf8');
    expect(environ.join('\n')).not.toContain(password);
    expect(cmdline).not.toContain(password);
    const passfile = environ.find((v) => v.startsWith('PGPASSFILE='))!.slice('PGPASSFILE='.length);
    expect(path.dirname(passfile)).toMatch(new RegExp(`^${tmp}/tidemark-pg-${cli.pid}-[A-Za-z0-9]{6}$`));
    expect((await stat(path.dirname(passfile))).mode & 0o777).toBe(0o700);
    expect((await stat(passfile)).mode & 0o777).toBe(0o600);
    expect(await readFile(passfile, 'utf8')).toContain(password);

    cli.kill('SIGTERM');
    expect(await exited).toEqual({ code: 143, signal: null });
    expect(stderr()).toMatch(/^INTERRUPTED: interrupted by SIGTERM\n/);
    expect(await running(psql)).toBe(false);
    expect(await passfileDirs(tmp, cli.pid!)).toEqual([]);
  });

  it('SIGINT belongs to psql: the command keeps waiting for it', async () => {
    const { tmp, cli, psql, exited, stdout } = await psqlAtItsInput();
    cli.kill('SIGINT');
    // psql (not sent the signal here) still reads its input, and the command still waits for it.
    cli.stdin!.end('SELECT 20 + 22 AS answer;\n');
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(stdout()).toContain('42');
    expect(await running(psql)).toBe(false);
    expect(await passfileDirs(tmp, cli.pid!)).toEqual([]);
  });

  it('a SIGKILL leaves the passfile directory, and the next command that prepares a passfile removes it', async () => {
    const { tmp, cli, psql, exited } = await psqlAtItsInput();
    cli.kill('SIGKILL');
    expect(await exited).toEqual({ code: null, signal: 'SIGKILL' });
    const [left] = await passfileDirs(tmp, cli.pid!);
    expect(left).toBeDefined();
    cli.stdin!.end();
    await waitFor(async () => !(await running(psql)), 'psql to end at the end of its input');

    const next = await runCli('db:psql', ['-X', '-A', '-t', '-c', 'SELECT 1'], { env: { DATABASE_URL: db.url, TMPDIR: tmp } });
    expect(next, next.stderr).toMatchObject({ code: 0, stdout: '1\n' });
    expect(existsSync(path.join(tmp, left))).toBe(false);
    expect((await readdir(tmp)).filter((name) => name.startsWith('tidemark-pg-'))).toEqual([]);
  });
});
