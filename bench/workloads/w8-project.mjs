// W8: a realistic project (bench/lib/realistic-project.mjs: a generated
// history of about 60 migrations, 120 files, 85 kB): apply from empty,
// status, migrate with nothing pending, and roll everything back, against
// golang-migrate (same files), dbmate (the files converted to its format)
// and psql (one session running the same files).
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { realisticProject } from '../lib/realistic-project.mjs';
import { dbmate, golangMigrate, psql, tidemark } from '../lib/tools.mjs';
import { ratioAtMost } from '../lib/targets.mjs';
import { dbName, dropDatabase, expectSuccess, freshDatabase } from './common.mjs';

const NOT_TRANSACTIONAL = new Set(['own-transaction', 'no-transaction']);

async function writeDir(dir, files) {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await Promise.all(files.map(([name, text]) => writeFile(path.join(dir, name), text)));
  return dir;
}

const dbmateSection = (direction, m) => `-- migrate:${direction}${NOT_TRANSACTIONAL.has(m.mode) ? ' transaction:false' : ''}\n${m[direction]}`;

/**
 * psql's floor: one session, each file through \i, a single-row version table
 * rewritten after it; wrapped in a transaction with it unless the file must
 * run outside one.
 */
function psqlScript(history, dir, direction) {
  const lines = ['\\set ON_ERROR_STOP on', 'CREATE TABLE IF NOT EXISTS bench_version (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);'];
  const ordered = direction === 'up' ? history : [...history].reverse();
  ordered.forEach((m, i) => {
    const version = direction === 'up' ? m.version : ordered[i + 1]?.version;
    const record = `DELETE FROM bench_version;${version ? `\nINSERT INTO bench_version VALUES (${version}, false);` : ''}`;
    const file = `\\i ${path.join(dir, `${m.version}_${m.name}.${direction}.sql`)}`;
    lines.push(NOT_TRANSACTIONAL.has(m.mode) ? `${file}\n${record}` : `BEGIN;\n${file}\n${record}\nCOMMIT;`);
  });
  return `${lines.join('\n')}\n`;
}

/** The directories and scripts, generated once per run of the harness. */
function sources(ctx) {
  ctx.shared.w8Sources ??= (async () => {
    const history = realisticProject();
    const base = path.join(ctx.work, 'w8');
    const tidemarkDir = await writeDir(path.join(base, 'golang-migrate'), history.flatMap((m) => [
      [`${m.version}_${m.name}.up.sql`, m.up], [`${m.version}_${m.name}.down.sql`, m.down],
    ]));
    const dbmateDir = await writeDir(path.join(base, 'dbmate'), history.map((m) => [`${m.version}_${m.name}.sql`, `${dbmateSection('up', m)}\n${dbmateSection('down', m)}`]));
    const scripts = path.join(base, 'psql');
    await writeDir(scripts, [['up.sql', psqlScript(history, tidemarkDir, 'up')], ['down.sql', psqlScript(history, tidemarkDir, 'down')]]);
    return { history, tidemark: tidemarkDir, dbmate: dbmateDir, psqlUp: path.join(scripts, 'up.sql'), psqlDown: path.join(scripts, 'down.sql') };
  })();
  return ctx.shared.w8Sources;
}

const TOOLS = {
  tidemark: { apply: (url, src) => tidemark.migrate(url, src.tidemark), status: (url, src) => tidemark.status(url, src.tidemark), down: (url, src) => tidemark.downAll(url, src.tidemark) },
  'golang-migrate': { needs: 'golang-migrate', apply: (url, src) => golangMigrate.up(url, src.tidemark), status: (url, src) => golangMigrate.version(url, src.tidemark), down: (url, src) => golangMigrate.downAll(url, src.tidemark) },
  dbmate: { apply: (url, src) => dbmate.up(url, src.dbmate), status: (url, src) => dbmate.status(url, src.dbmate) },
  psql: { needs: 'psql', apply: (url, src, ctx) => psql.run(ctx.psql.path, url, src.psqlUp), down: (url, src, ctx) => psql.run(ctx.psql.path, url, src.psqlDown) },
};

// What the project's migrations leave: every relation, function and enum value outside the tools' own tables.
const FINGERPRINT_SQL = `SELECT
  (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relname !~ '^(schema_migrations|bench_version)')::int AS relations,
  (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public')::int AS functions,
  (SELECT count(*) FROM pg_enum)::int AS enum_values,
  (SELECT count(*) FROM pg_extension WHERE extname IN ('citext', 'pg_trgm'))::int AS extensions`;

async function fingerprint(ctx, database) {
  const { rows } = await ctx.server.query(FINGERPRINT_SQL, database);
  return JSON.stringify(rows[0]);
}

/** Every tool must leave the same schema as the first one checked; a complete one has well over a hundred relations. */
async function expectComplete(ctx, database, label) {
  const found = await fingerprint(ctx, database);
  if (JSON.parse(found).relations < 100) throw new Error(`${label}: the schema is incomplete: ${found}`);
  ctx.shared.w8Fingerprint ??= found;
  if (found !== ctx.shared.w8Fingerprint) throw new Error(`${label}: left ${found}, another tool left ${ctx.shared.w8Fingerprint}`);
}

async function expectEmpty(ctx, database, label) {
  const found = JSON.parse(await fingerprint(ctx, database));
  if (found.relations || found.functions || found.enum_values || found.extensions) throw new Error(`${label}: rolling back left ${JSON.stringify(found)}`);
}

/** A database with the whole history applied by one tool, copied for each run. */
function template(ctx, tool) {
  const key = `w8-template-${tool}`;
  ctx.shared[key] ??= (async () => {
    const name = `tpl_w8_${tool.replace(/[^a-z]/g, '_')}`;
    const url = await ctx.server.createDatabase(name);
    expectSuccess(`${tool} preparing ${name}`, await TOOLS[tool].apply(url, await sources(ctx), ctx));
    await expectComplete(ctx, name, `${tool} preparing ${name}`);
    return name;
  })();
  return ctx.shared[key];
}

function contender(id, tool, action, { name = tool, role = tool === 'tidemark' ? 'subject' : tool === 'psql' ? 'floor' : 'peer', fromEmpty = false, check } = {}) {
  return {
    name,
    role,
    needs: TOOLS[tool].needs,
    prepare: async (ctx) => freshDatabase(ctx, dbName(id, tool), fromEmpty ? undefined : await template(ctx, tool)),
    run: async (ctx, db) => TOOLS[tool][action](db.url, await sources(ctx), ctx),
    verify: async (ctx, db, result) => {
      expectSuccess(name, result);
      await check?.(ctx, db.name, name, result);
    },
    cleanup: dropDatabase,
  };
}

// Each W8 workload is its own series: the project has one size, so there is no growth to tabulate.
const workload = (id, title, description, contenders, targets = []) => ({ id, series: id, n: 59, unit: 'migrations (a generated project)', title, description, contenders, targets });

export default function w8() {
  const shape = 'The history of a generated project (bench/lib/realistic-project.mjs): 59 migrations, 118 files, 84 kB of SQL; a 37 kB initial schema (45 tables with foreign keys, indexes, views, enum types, two extensions), PL/pgSQL functions and triggers in dollar quotes, DO blocks, enum values added later, a partitioned table, 3 files with their own BEGIN/COMMIT, 4 `-- tidemark:no-transaction` CREATE INDEX CONCURRENTLY files, data updates.';
  const tools = 'tidemark and golang-migrate read the same directory; dbmate reads the files converted to its format (`transaction:false` where a file runs its own transaction or CONCURRENTLY); psql runs each file with `\\i` in one session, wrapped in BEGIN/COMMIT with a version row unless it must run outside a transaction.';
  const complete = (ctx, database, label) => expectComplete(ctx, database, label);
  const mentionsLast = (ctx, database, label, result) => sources(ctx).then(({ history }) => {
    const output = `${result.stdout}${result.stderr}`;
    if (!output.includes(history.at(-1).version)) throw new Error(`${label}: the output does not mention the last version:\n${output.slice(-500)}`);
  });
  return [
    workload('W8-apply', 'a realistic project: apply every migration to an empty database', [shape, tools], [
      contender('W8-apply', 'psql', 'apply', { name: 'psql floor', fromEmpty: true, check: complete }),
      contender('W8-apply', 'tidemark', 'apply', { fromEmpty: true, check: complete }),
      contender('W8-apply', 'golang-migrate', 'apply', { fromEmpty: true, check: complete }),
      contender('W8-apply', 'dbmate', 'apply', { fromEmpty: true, check: complete }),
    ], [ratioAtMost('golang-migrate', 1.0)]),
    workload('W8-status', 'a realistic project: status with every migration applied', [shape, 'tidemark: `migrate:status`; dbmate: `status`; golang-migrate: `version`, which only reads the version row (it has no status listing).'], [
      contender('W8-status', 'tidemark', 'status', { check: mentionsLast }),
      contender('W8-status', 'golang-migrate', 'status', { name: 'golang-migrate version', check: mentionsLast }),
      contender('W8-status', 'dbmate', 'status', { check: mentionsLast }),
    ]),
    workload('W8-noop', 'a realistic project: migrate with nothing pending', [shape, 'Each tool runs its `up` on a copy of a database it migrated itself.'], [
      contender('W8-noop', 'tidemark', 'apply', { check: complete }),
      contender('W8-noop', 'golang-migrate', 'apply', { check: complete }),
      contender('W8-noop', 'dbmate', 'apply', { check: complete }),
    ]),
    workload('W8-down', 'a realistic project: roll every migration back', [shape, tools, 'tidemark: `migrate:down --all --yes`; golang-migrate: `down -all`; psql runs the down files newest first. dbmate is not measured: it rolls back one migration per command.'], [
      contender('W8-down', 'psql', 'down', { name: 'psql floor', check: expectEmpty }),
      contender('W8-down', 'tidemark', 'down', { check: expectEmpty }),
      contender('W8-down', 'golang-migrate', 'down', { check: expectEmpty }),
    ]),
  ];
}
