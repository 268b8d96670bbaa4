// What the migration workloads share: the generated migration directories (one
// per tool, same statements), databases prepared by each tool as templates,
// and a fresh copy of one for every run.
import { dbmateDir, nodePgMigrateDir, psqlScript, tidemarkDir } from '../lib/migrations.mjs';
import { dbmate, golangMigrate, nodePgMigrate, run as runCommand, tidemark } from '../lib/tools.mjs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Migration directories for n migrations, generated once per run of the harness. */
export function sources(ctx, n) {
  const key = `sources-${n}`;
  ctx.shared[key] ??= (async () => {
    const base = path.join(ctx.work, `migrations-${n}`);
    return {
      tidemark: await tidemarkDir(path.join(base, 'tidemark'), n),
      dbmate: await dbmateDir(path.join(base, 'dbmate'), n),
      nodePgMigrate: await nodePgMigrateDir(path.join(base, 'node-pg-migrate'), n),
      psql: await psqlScript(path.join(base, 'floor.sql'), n),
    };
  })();
  return ctx.shared[key];
}

export function expectSuccess(label, result) {
  if (result.code !== 0) {
    throw new Error(`${label} exited with ${result.code}\n${(result.stderr || result.stdout).slice(-2000)}`);
  }
}

/** How many of the workload's tables exist: the check that a contender did the work. */
export async function countTables(ctx, database) {
  const { rows } = await ctx.server.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' AND tablename ~ '^t_[0-9]+$'", database);
  return rows[0].n;
}

export async function expectTables(ctx, database, n, label) {
  const found = await countTables(ctx, database);
  if (found !== n) throw new Error(`${label}: expected ${n} tables, found ${found}`);
}

const appliers = {
  tidemark: (url, src) => tidemark.migrate(url, src.tidemark),
  dbmate: (url, src) => dbmate.up(url, src.dbmate),
  'node-pg-migrate': (url, src) => nodePgMigrate.up(url, src.nodePgMigrate),
  // golang-migrate reads the same directory as tidemark (tidemark reads golang-migrate's layout).
  'golang-migrate': (url, src) => golangMigrate.up(url, src.tidemark),
};

/**
 * A database with n migrations applied by one tool, kept as the template that
 * every run of that tool copies. Built once per tool and size.
 */
export function template(ctx, tool, n) {
  const name = `tpl_${tool.replace(/[^a-z]/g, '_')}_${n}`;
  const key = `template-${name}`;
  ctx.shared[key] ??= (async () => {
    const src = await sources(ctx, n);
    const url = await ctx.server.createDatabase(name);
    expectSuccess(`${tool} preparing ${name}`, await appliers[tool](url, src));
    await expectTables(ctx, name, n, `${tool} preparing ${name}`);
    return name;
  })();
  return ctx.shared[key];
}

/**
 * A new database for one run, empty or copied from a template, after a
 * checkpoint. FILE_COPY copies the files (with a checkpoint before and after)
 * instead of writing every page to the WAL: seconds instead of tens of
 * seconds for ten thousand tables.
 */
export async function freshDatabase(ctx, name, templateName) {
  // A smoke run's databases are tiny and its timings are not read: no checkpoints.
  if (ctx.mode === 'smoke') return { name, url: await ctx.server.createDatabase(name, templateName) };
  const url = await ctx.server.createDatabase(name, templateName, 'FILE_COPY');
  await ctx.server.query('CHECKPOINT');
  return { name, url };
}

export const dropDatabase = (ctx, prepared) => ctx.server.dropDatabase(prepared.name);

export const dbName = (caseId, contender) => `run_${caseId}_${contender}`.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 63);


/**
 * One of the floor scripts of bench/lib bundled as tidemark bundles its
 * commands (one CommonJS file, pg with the same change), built once per run:
 * Node.js with the least a migration tool must do, started as cheaply.
 */
function floorBundle(ctx, script) {
  const key = `floor-${script}`;
  ctx.shared[key] ??= (async () => {
    const { build } = await import('esbuild');
    const { skipCloudflareProbe } = await import('../../build/esbuild-plugins.mjs');
    const outfile = path.join(ctx.work, script);
    const here = path.dirname(fileURLToPath(import.meta.url));
    await build({ entryPoints: [path.join(here, '../lib', script)], outfile, bundle: true, platform: 'node', target: 'node20', format: 'cjs', plugins: [skipCloudflareProbe], logLevel: 'warning' });
    return outfile;
  })();
  return ctx.shared[key];
}

export const NODE_PG_FLOOR = 'node + pg, one query (floor of a Node.js tool)';
export const NODE_PG_FILES_FLOOR = 'node + pg + reading and hashing every file (floor of a Node.js tool that checks its files)';

/**
 * A floor under any Node.js migration command, on a database tidemark
 * prepared: `node + pg` (bench/lib/node-pg-floor.cjs) loads pg, connects and
 * reads the version row; with `files`, bench/lib/node-pg-files-floor.cjs also
 * lists the directory and reads and hashes every up file, then compares the
 * checksums recorded in the history: the least a tool does that notices an
 * edited migration.
 */
export function nodePgFloor(caseId, n, { files = false } = {}) {
  const label = files ? 'node + pg + files' : 'node + pg';
  return {
    name: files ? NODE_PG_FILES_FLOOR : NODE_PG_FLOOR,
    role: 'reference',
    prepare: async (ctx) => freshDatabase(ctx, dbName(caseId, files ? 'nodepgfiles' : 'nodepg'), await template(ctx, 'tidemark', n)),
    run: async (ctx, db) => {
      const script = await floorBundle(ctx, files ? 'node-pg-files-floor.cjs' : 'node-pg-floor.cjs');
      return runCommand(process.execPath, files ? [script, (await sources(ctx, n)).tidemark] : [script], db.url);
    },
    verify: async (ctx, db, result) => {
      expectSuccess(label, result);
      if (result.stdout.trim() !== String(n)) throw new Error(`${label}: expected version ${n} and no changed file, got ${result.stdout.trim()}`);
    },
    cleanup: dropDatabase,
  };
}

/**
 * A reference, not a contender: Node.js starting and exiting with no work
 * (`node -e 0`), the floor under any command written for Node.
 */
export function nodeStartup(caseId) {
  return {
    name: 'node -e 0 (Node.js start-up alone)',
    role: 'reference',
    prepare: async (ctx) => freshDatabase(ctx, dbName(caseId, 'node')),
    run: async (ctx, db) => runCommand(process.execPath, ['-e', '0'], db.url),
    verify: async (ctx, db, result) => expectSuccess('node -e 0', result),
    cleanup: dropDatabase,
  };
}
