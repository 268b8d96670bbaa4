import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, runCli } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { migrationsDir } from './helpers/migrations.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('launcher');
});
afterAll(() => db.close());

// Each command starts through a launcher that keeps V8's compiled code in a
// cache directory; TIDEMARK_CODE_CACHE_DIR points it at a directory of the test's own.
async function scratch(): Promise<{ cacheDir: string; migrations: string }> {
  const base = await mkdtemp(path.join(tmpdir(), 'tidemark-launcher-'));
  return { cacheDir: path.join(base, 'cache'), migrations: path.join(base, 'migrations') };
}

const cacheFiles = async (dir: string) => (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.bin'));

describe('command launcher and code cache', () => {
  it('writes the cache after a successful run, and the next run uses it with the same result', async () => {
    const { cacheDir, migrations } = await scratch();
    const env = { TIDEMARK_CODE_CACHE_DIR: cacheDir };
    const first = await runCli('migrate:create', ['add_users', '--dir', migrations], { env });
    expect(first.code, first.stderr).toBe(0);
    const files = await cacheFiles(cacheDir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(new RegExp(`^migrate-create-[0-9a-f]{16}-${process.versions.v8.replace(/\./g, '\\.')}-${process.arch}\\.bin$`));
    const cached = await readFile(path.join(cacheDir, files[0]));
    expect(cached.length).toBeGreaterThan(1000);

    const second = await runCli('migrate:create', ['add_orders', '--dir', migrations], { env });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/000002_add_orders\.up\.sql/);
    // An accepted cache is left as it is.
    expect(await readFile(path.join(cacheDir, files[0]))).toEqual(cached);
  });

  it('a damaged cache is rejected, the command runs normally and the cache is written afresh', async () => {
    const { cacheDir, migrations } = await scratch();
    const env = { TIDEMARK_CODE_CACHE_DIR: cacheDir };
    expect((await runCli('migrate:create', ['one', '--dir', migrations], { env })).code).toBe(0);
    const [file] = await cacheFiles(cacheDir);
    const garbage = Buffer.alloc(4096, 0x5a);
    await writeFile(path.join(cacheDir, file), garbage);

    const result = await runCli('migrate:create', ['two', '--dir', migrations], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/000002_two\.up\.sql/);
    expect(result.stderr).toBe('');
    expect(await readFile(path.join(cacheDir, file))).not.toEqual(garbage);
  });

  it('writes no cache after a failed run or a help text', async () => {
    const { cacheDir } = await scratch();
    const env = { TIDEMARK_CODE_CACHE_DIR: cacheDir };
    const failed = await runCli('migrate:create', [], { env });
    expect(failed.code).toBe(2);
    expect(failed.stderr).toMatch(/^INVALID_ARGUMENT: /);
    const help = await runCli('migrate:create', ['--help'], { env });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('migrate:create NAME');
    expect(await cacheFiles(cacheDir)).toEqual([]);
  });

  it('a command run from the cache still loads its external modules (the SQL parser) and reads the database', async () => {
    const { cacheDir } = await scratch();
    const env = { TIDEMARK_CODE_CACHE_DIR: cacheDir, DATABASE_URL: db.url };
    // A no-transaction file is split into statements by libpg-query, loaded with import() at run time.
    const { dir } = await migrationsDir({
      '000001_one.up.sql': '-- tidemark:no-transaction\nCREATE TABLE launcher_one (id int);\nCREATE INDEX ON launcher_one (id);\n',
      '000002_two.up.sql': '-- tidemark:no-transaction\nCREATE TABLE launcher_two (id int);\nCREATE INDEX ON launcher_two (id);\n',
    });
    const first = await runCli('migrate', ['--dir', dir, '--steps', '1'], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(await cacheFiles(cacheDir)).toEqual([expect.stringMatching(/^migrate-/)]);
    const second = await runCli('migrate', ['--dir', dir], { env });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toBe('');
    expect(second.stdout).toMatch(/applied 2 two/);
    const { rows } = await db.query("SELECT count(*)::int AS n FROM pg_indexes WHERE tablename IN ('launcher_one', 'launcher_two')");
    expect(rows[0].n).toBe(2);
  });

  it('db:query run from the cache loads the SQL parser and answers', async () => {
    const { cacheDir } = await scratch();
    const env = { TIDEMARK_CODE_CACHE_DIR: cacheDir, DATABASE_URL: db.url };
    const first = await runCli('db:query', ['SELECT 40 + 1 AS answer', '--json'], { env });
    expect(first.code, first.stderr).toBe(0);
    const [file] = await cacheFiles(cacheDir);
    expect(file).toMatch(/^db-query-/);
    const cached = await readFile(path.join(cacheDir, file));
    const second = await runCli('db:query', ['SELECT 41 + 1 AS answer', '--json'], { env });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toBe('');
    expect(second.stdout).toContain('42');
    // The second run used the cache rather than writing a new one.
    expect(await readFile(path.join(cacheDir, file))).toEqual(cached);
  });

  it('a command run from the cache loads a TypeScript backfill (through esbuild) and a JavaScript one (by file URL)', async () => {
    const { cacheDir } = await scratch();
    const backfills = path.join(path.dirname(cacheDir), 'backfills');
    await mkdir(backfills);
    const contract = (what: string) => `export const description = ${JSON.stringify(what)};
export async function count() { return 0; }
export async function batch() { return { rows: 0, next: null }; }
`;
    await writeFile(path.join(backfills, 'typed.ts'), contract('compiled from TypeScript').replace('count()', 'count(): Promise<number>'));
    await writeFile(path.join(backfills, 'plain.mjs'), contract('imported as it is'));
    const env = { TIDEMARK_CODE_CACHE_DIR: cacheDir, DATABASE_URL: db.url };
    const list = () => runCli('backfill:list', ['--backfills-dir', backfills, '--json'], { env });
    const first = await list();
    expect(first.code, first.stderr).toBe(0);
    const [file] = await cacheFiles(cacheDir);
    expect(file).toMatch(/^backfill-list-/);
    const cached = await readFile(path.join(cacheDir, file));
    const second = await list();
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toBe('');
    expect(second.stdout).toContain('compiled from TypeScript');
    expect(second.stdout).toContain('imported as it is');
    expect(await readFile(path.join(cacheDir, file))).toEqual(cached);
  });

  it('an unwritable cache directory changes nothing for the command', async () => {
    const { migrations } = await scratch();
    // A regular file where the directory should be: mkdir fails, the command still succeeds.
    const blocker = path.join(path.dirname(migrations), 'not-a-dir');
    await writeFile(blocker, 'x');
    const result = await runCli('migrate:create', ['add_users', '--dir', migrations], { env: { TIDEMARK_CODE_CACHE_DIR: path.join(blocker, 'cache') } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/000001_add_users\.up\.sql/);
  });
});

/**
 * What an attacker who can write the cache directory would plant: V8's cache
 * of a different script of the same length, which writes `marker` when run.
 * Made in a child process so that its V8 flags are the commands'. With
 * `bindTo`, prefixed with the launcher's HMAC keyed by that script's hash.
 */
function plantForeignCache(file: string, bundle: string, marker: string, bindTo?: 'foreign'): void {
  const make = `
    const vm = require('node:vm'), fs = require('node:fs'), crypto = require('node:crypto');
    const [file, bundle, marker, bindTo] = process.argv.slice(1);
    const real = \`(function (exports, require, module, __filename, __dirname) { \${fs.readFileSync(bundle, 'utf8')}\\n});\`;
    const head = \`(function (exports, require) { require('node:fs').writeFileSync(\${JSON.stringify(marker)}, 'foreign code ran'); });\`;
    const other = head + ' '.repeat(real.length - head.length);
    const data = new vm.Script(other, { filename: bundle }).createCachedData();
    const mac = crypto.createHmac('sha256', crypto.createHash('sha256').update(other).digest()).update(data).digest();
    fs.writeFileSync(file, bindTo ? Buffer.concat([mac, data]) : data);
  `;
  execFileSync(process.execPath, ['-e', make, file, bundle, marker, bindTo ?? '']);
}

describe('code cache safety', () => {
  const bundleOf = (name: string) => path.join(ROOT, 'dist', 'bundles', `${name}.js`);

  it.each([['a bare V8 cache', undefined], ['a cache bound to the other script', 'foreign']] as const)(
    'a planted same-length cache of other code (%s) is not run: the command runs its own code',
    async (_what, bindTo) => {
      const { cacheDir, migrations } = await scratch();
      const env = { TIDEMARK_CODE_CACHE_DIR: cacheDir };
      expect((await runCli('migrate:create', ['one', '--dir', migrations], { env })).code).toBe(0);
      const [file] = await cacheFiles(cacheDir);
      const marker = path.join(path.dirname(cacheDir), 'foreign-code-ran');
      plantForeignCache(path.join(cacheDir, file), bundleOf('migrate-create'), marker, bindTo);

      const result = await runCli('migrate:create', ['two', '--dir', migrations], { env });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/000002_two\.up\.sql/);
      expect(existsSync(marker)).toBe(false);
    },
  );

  it('writes the cache 0600 in a directory it makes 0700', async () => {
    const { cacheDir, migrations } = await scratch();
    expect((await runCli('migrate:create', ['one', '--dir', migrations], { env: { TIDEMARK_CODE_CACHE_DIR: cacheDir } })).code).toBe(0);
    const [file] = await cacheFiles(cacheDir);
    expect((await stat(path.join(cacheDir, file))).mode & 0o777).toBe(0o600);
    expect((await stat(cacheDir)).mode & 0o777).toBe(0o700);
    expect((await readdir(cacheDir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it.each([
    ['world-writable', async (dir: string) => { await mkdir(dir); await chmod(dir, 0o777); }],
    ['group-writable', async (dir: string) => { await mkdir(dir); await chmod(dir, 0o770); }],
    ['a symlink to a directory of ours', async (dir: string) => { await mkdir(`${dir}-real`, { mode: 0o700 }); await symlink(`${dir}-real`, dir); }],
    ['owned by another user', async (dir: string) => { await mkdir(dir, { mode: 0o700 }); await chown(dir, 65534, 65534); }],
  ])('a cache directory that is %s is neither read nor written; the command works', async (_what, prepare) => {
    const { cacheDir, migrations } = await scratch();
    await prepare(cacheDir);
    const env = { TIDEMARK_CODE_CACHE_DIR: cacheDir };
    const first = await runCli('migrate:create', ['one', '--dir', migrations], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(await cacheFiles(cacheDir)).toEqual([]);
    // A cache planted there is not read either.
    const name = (await cacheFiles(await warmCacheDir())).at(0)!;
    const marker = path.join(path.dirname(cacheDir), 'foreign-code-ran');
    plantForeignCache(path.join(cacheDir, name), bundleOf('migrate-create'), marker);
    const second = await runCli('migrate:create', ['two', '--dir', migrations], { env });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/000002_two\.up\.sql/);
    expect(existsSync(marker)).toBe(false);
  });

  it.each([
    ['mode 0644', (file: string) => chmod(file, 0o644)],
    ['another owner', (file: string) => chown(file, 65534, 65534)],
  ])('a cache file with %s is ignored and written afresh, ours and 0600', async (_what, spoil) => {
    const { cacheDir, migrations } = await scratch();
    const env = { TIDEMARK_CODE_CACHE_DIR: cacheDir };
    expect((await runCli('migrate:create', ['one', '--dir', migrations], { env })).code).toBe(0);
    const file = path.join(cacheDir, (await cacheFiles(cacheDir))[0]);
    await spoil(file);
    const before = await stat(file);
    const result = await runCli('migrate:create', ['two', '--dir', migrations], { env });
    expect(result.code, result.stderr).toBe(0);
    // A cache that was used is left as it is; this one was replaced.
    const after = await stat(file);
    expect(after.ino).not.toBe(before.ino);
    expect(after.mode & 0o777).toBe(0o600);
    expect(after.uid).toBe(process.getuid!());
  });
});

/** A directory with a cache of migrate:create, to learn the cache file's name. */
async function warmCacheDir(): Promise<string> {
  const { cacheDir, migrations } = await scratch();
  expect((await runCli('migrate:create', ['one', '--dir', migrations], { env: { TIDEMARK_CODE_CACHE_DIR: cacheDir } })).code).toBe(0);
  return cacheDir;
}
