import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from './helpers/cli.js';
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
