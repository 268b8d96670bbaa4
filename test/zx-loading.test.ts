/**
 * zx is loaded only by the commands that run a program: the database-only
 * commands neither bundle a reference to it nor load it when they run. A
 * preloaded probe (NODE_OPTIONS=--require) lists, when the command exits,
 * every module of the zx package that Node loaded.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ROOT, runCli, type CliOptions } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { tempDir } from './helpers/backup.js';

const PROBE = `
const fs = require('node:fs');
process.on('exit', () => {
  const loaded = Object.keys(require.cache).filter((file) => /[\\\\/]node_modules[\\\\/]zx[\\\\/]/.test(file));
  fs.writeFileSync(process.env.TIDEMARK_TEST_LOADED, JSON.stringify(loaded));
});
`;

/** Any module specifier naming the zx package ('zx', 'zx/core', ...). */
const ZX_SPECIFIER = /["'`]zx(?:\/[\w-]+)?["'`]/;

const bundle = (name: string) => readFile(path.join(ROOT, 'dist', 'bundles', `${name}.js`), 'utf8');

let db: TestDatabase;
let work: string;
let probe: string;
beforeAll(async () => {
  db = await createTestDatabase('zx_loading', inject('pgToolsUrl'));
  work = await tempDir('zx-loading');
  probe = path.join(work, 'probe.cjs');
  await writeFile(probe, PROBE);
  for (const [i, name] of ['one', 'two', 'three'].entries()) {
    await writeFile(path.join(work, `00000${i + 1}_${name}.up.sql`), `CREATE TABLE ${name} (id int);\n`);
    await writeFile(path.join(work, `00000${i + 1}_${name}.down.sql`), `DROP TABLE ${name};\n`);
  }
});
afterAll(() => db.close());

/** Runs a command with the probe; returns its result and the zx modules it loaded. */
async function runProbed(target: string, args: string[], options: CliOptions = {}) {
  const out = path.join(work, `${target.replace(':', '-')}.loaded.json`);
  const result = await runCli(target, args, {
    ...options, env: { DATABASE_URL: db.url, TIDEMARK_TEST_LOADED: out, NODE_OPTIONS: `--require ${probe}`, ...options.env },
  });
  return { result, loaded: JSON.parse(await readFile(out, 'utf8')) as string[] };
}

describe('zx in the bundles', () => {
  it.each(['migrate', 'migrate-status', 'migrate-version', 'migrate-down', 'migrate-goto', 'migrate-force', 'migrate-history', 'db-query', 'db-check'])(
    'dist/bundles/%s.js has no reference to zx', async (name) => {
      expect((await bundle(name)).match(ZX_SPECIFIER)).toBeNull();
    });

  it.each(['backup-create', 'backup-restore', 'backup-verify', 'db-psql'])('dist/bundles/%s.js requires zx/core, and nothing else of zx', async (name) => {
    const text = await bundle(name);
    expect(text.match(new RegExp(ZX_SPECIFIER, 'g'))).toEqual(['"zx/core"']);
  });
});

describe('zx at run time', () => {
  it('migrate, migrate:status and migrate:version run without loading it', async () => {
    for (const [target, args] of [['migrate', ['--dir', work]], ['migrate:status', ['--dir', work]], ['migrate:version', ['--dir', work]]] as const) {
      const { result, loaded } = await runProbed(target, [...args]);
      expect(result.code, `${target}: ${result.stderr}`).toBe(0);
      expect(loaded, target).toEqual([]);
    }
    expect((await db.query('SELECT version FROM schema_migrations')).rows).toEqual([{ version: '3' }]);
  });

  it('backup loads it (the probe sees what it is meant to see)', async () => {
    const dir = await tempDir('zx-loading-backup');
    const { result, loaded } = await runProbed('backup:create', [], { env: { BACKUP_DIR: dir, PG_BIN_DIR: inject('pgToolsBinDir') } });
    expect(result.code, result.stderr).toBe(0);
    expect(loaded.map((file) => path.basename(file))).toContain('core.cjs');
    // The lighter entry point: not zx's index, which brings fs-extra, yaml, globby and more.
    expect(loaded.map((file) => path.basename(file))).not.toContain('vendor-extra.cjs');
  });
});
