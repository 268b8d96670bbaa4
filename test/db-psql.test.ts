import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ROOT, runCli } from './helpers/cli.js';
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
