import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, collect, runCli, type CliResult } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { migrationsDir } from './helpers/migrations.js';
import { installedCopy } from './helpers/packed.js';

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

describe('command bundles', () => {
  it('are ASCII, so V8 holds their source one byte a character', async () => {
    const dir = path.join(ROOT, 'dist', 'bundles');
    const names = (await readdir(dir)).filter((f) => f.endsWith('.js'));
    expect(names.length).toBeGreaterThan(20);
    for (const name of names) expect((await readFile(path.join(dir, name), 'latin1')).match(/[^\x00-\x7f]/), name).toBeNull();
  });
});

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

const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
/** No setting that moves or disables the cache: the default location applies. */
const DEFAULT_LOCATION = { TIDEMARK_CODE_CACHE_DIR: undefined, TIDEMARK_CODE_CACHE: undefined, XDG_CACHE_HOME: undefined };

/** Every path below `dir` with its size and modification time, to show that nothing was written there. */
async function snapshot(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return Promise.all(entries.sort().map(async (entry) => {
    const stats = await stat(path.join(dir, entry));
    return `${entry} ${stats.size} ${stats.mtimeMs} ${(stats.mode & 0o777).toString(8)}`;
  }));
}

const modeOf = async (file: string) => (await stat(file)).mode & 0o777;

describe('where the code cache lives', () => {
  it('by default in ~/.cache/tidemark/<version>, each directory made 0700, never in the package', async () => {
    const { cacheDir, migrations } = await scratch();
    const home = path.join(path.dirname(cacheDir), 'home');
    await mkdir(home);
    const env = { ...DEFAULT_LOCATION, HOME: home };
    const first = await runCli('migrate:create', ['one', '--dir', migrations], { env });
    expect(first.code, first.stderr).toBe(0);
    const dir = path.join(home, '.cache', 'tidemark', VERSION);
    const [file] = await cacheFiles(dir);
    expect(file).toMatch(/^migrate-create-[0-9a-f]{16}-/);
    expect(await modeOf(path.join(dir, file))).toBe(0o600);
    for (const made of [path.join(home, '.cache'), path.join(home, '.cache', 'tidemark'), dir]) expect(await modeOf(made)).toBe(0o700);
    expect(existsSync(path.join(ROOT, 'dist', '.code-cache'))).toBe(false);

    const cached = await readFile(path.join(dir, file));
    const second = await runCli('migrate:create', ['two', '--dir', migrations], { env });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toBe('');
    expect(await readFile(path.join(dir, file))).toEqual(cached);
  });

  it('an existing ~/.cache is used as it is', async () => {
    const { cacheDir, migrations } = await scratch();
    const home = path.join(path.dirname(cacheDir), 'home');
    await mkdir(path.join(home, '.cache'), { recursive: true, mode: 0o755 });
    await chmod(path.join(home, '.cache'), 0o755);
    const result = await runCli('migrate:create', ['one', '--dir', migrations], { env: { ...DEFAULT_LOCATION, HOME: home } });
    expect(result.code, result.stderr).toBe(0);
    expect(await modeOf(path.join(home, '.cache'))).toBe(0o755);
    expect(await cacheFiles(path.join(home, '.cache', 'tidemark', VERSION))).toHaveLength(1);
  });

  it.each([
    ['an absolute XDG_CACHE_HOME is used', true],
    ['a relative XDG_CACHE_HOME is ignored, as the XDG spec asks', false],
  ])('%s', async (_what, absolute) => {
    const { cacheDir, migrations } = await scratch();
    const base = path.dirname(cacheDir);
    const home = path.join(base, 'home');
    await mkdir(home);
    const xdg = absolute ? path.join(base, 'xdg') : 'xdg';
    const env = { ...DEFAULT_LOCATION, HOME: home, XDG_CACHE_HOME: xdg };
    const result = await runCli('migrate:create', ['one', '--dir', migrations], { env, cwd: base });
    expect(result.code, result.stderr).toBe(0);
    const expected = absolute ? path.join(xdg, 'tidemark', VERSION) : path.join(home, '.cache', 'tidemark', VERSION);
    expect(await cacheFiles(expected)).toHaveLength(1);
    if (absolute) expect(existsSync(path.join(home, '.cache'))).toBe(false);
    else expect(existsSync(path.join(base, 'xdg'))).toBe(false);
  });

  it('TIDEMARK_CODE_CACHE=off: nothing is written anywhere', async () => {
    const { cacheDir, migrations } = await scratch();
    const home = path.join(path.dirname(cacheDir), 'home');
    await mkdir(home);
    for (const settings of [{ TIDEMARK_CODE_CACHE: 'off' }, { TIDEMARK_CODE_CACHE: 'off', TIDEMARK_CODE_CACHE_DIR: cacheDir }]) {
      const result = await runCli('migrate:create', ['x', '--dir', migrations], { env: { ...DEFAULT_LOCATION, HOME: home, ...settings } });
      expect(result.code, result.stderr).toBe(0);
    }
    expect(await readdir(home)).toEqual([]);
    expect(existsSync(cacheDir)).toBe(false);
  });

  /** migrate:create as the user nobody, who owns nothing but the migrations directory. */
  async function runAsNobody(env: Record<string, string>): Promise<{ result: CliResult; base: string }> {
    const { migrations } = await scratch();
    const base = path.dirname(migrations);
    await chmod(base, 0o755);
    await mkdir(migrations);
    await chown(migrations, 65534, 65534);
    const childEnv: Record<string, string | undefined> = { ...process.env, ...DEFAULT_LOCATION, ...env };
    for (const key of Object.keys(childEnv)) if (childEnv[key] === undefined) delete childEnv[key];
    const script = path.join(ROOT, 'dist', 'tasks', 'migrate-create.js');
    const child = spawn(process.execPath, [script, 'one', '--dir', migrations], { cwd: base, uid: 65534, gid: 65534, env: childEnv as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    return { result: await collect(child), base };
  }

  it('a user whose home does not exist: the command runs without a cache and says nothing', async () => {
    const { result } = await runAsNobody({ HOME: '/nonexistent' });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/000001_one\.up\.sql/);
    expect(existsSync('/nonexistent')).toBe(false);
  });

  it('a cache location the user cannot write: the command runs without a cache and says nothing', async () => {
    const unwritable = await mkdtemp(path.join(tmpdir(), 'tidemark-not-yours-'));
    await chmod(unwritable, 0o755);
    const { result } = await runAsNobody({ HOME: unwritable, XDG_CACHE_HOME: unwritable });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/000001_one\.up\.sql/);
    expect(await readdir(unwritable)).toEqual([]);
  });

  it('a read-only installed package (chmod -R a-w): commands run and write nothing inside it', async () => {
    const copy = await installedCopy();
    execFileSync('chmod', ['-R', 'a-w', copy.pkg]);
    try {
      const before = await snapshot(copy.pkg);
      const home = path.join(copy.app, 'home');
      await mkdir(home);
      const { dir: migrations } = await migrationsDir({});
      const env: Record<string, string | undefined> = { ...process.env, DATABASE_URL: db.url, TIDEMARK_EMBEDDED: undefined, ...DEFAULT_LOCATION, HOME: home };
      for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
      const tidemark = (...args: string[]) =>
        collect(spawn(process.execPath, [copy.bin, ...args], { cwd: copy.app, env: env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] }));
      for (const args of [['migrate:create', 'one', '--dir', migrations], ['migrate:create', 'two', '--dir', migrations], ['db:query', 'SELECT 41 + 1 AS answer', '--json']]) {
        const result = await tidemark(...args);
        expect(result.code, result.stderr).toBe(0);
        expect(result.stderr).toBe('');
      }
      expect(await snapshot(copy.pkg)).toEqual(before);
      const cached = await cacheFiles(path.join(home, '.cache', 'tidemark', VERSION));
      expect(cached.map((f) => f.replace(/-[0-9a-f]{16}-.*$/, '')).sort()).toEqual(['db-query', 'migrate-create']);
    } finally {
      execFileSync('chmod', ['-R', 'u+w', copy.pkg]);
    }
  });
});
