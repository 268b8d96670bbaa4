// `npm run bench [-- --quick | --smoke] [--out FILE] [--only W1,W2] [--findings FILE] [--no-build]`:
// starts its own PostgreSQL 18, runs every workload with tidemark and its
// peers in alternation, and writes a Markdown report (bench/RESULTS.md; in
// quick or smoke mode bench/work/RESULTS-MODE.md, which git ignores).
import { parseArgs } from 'node:util';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { ROOT, WORK } from './lib/paths.mjs';
import { removeStaleRuns, startServer } from './lib/server.mjs';
import { backupServer } from './lib/backup-server.mjs';
import { machine, sourceRevision } from './lib/machine.mjs';
import { runWorkload, evaluateTargets } from './lib/runner.mjs';
import { renderReport } from './lib/report.mjs';
import { dbmate, golangMigrate, nodePgMigrate, tidemark, findPsql } from './lib/tools.mjs';
import { plan } from './workloads/index.mjs';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    smoke: { type: 'boolean', default: false },
    out: { type: 'string' },
    only: { type: 'string' },
    findings: { type: 'string' },
    'no-build': { type: 'boolean', default: false },
  },
});
const mode = args.smoke ? 'smoke' : args.quick ? 'quick' : 'full';
const out = path.resolve(args.out ?? path.join(ROOT, mode === 'full' ? 'bench/RESULTS.md' : `bench/work/RESULTS-${mode}.md`));
const log = (line) => process.stderr.write(`${line}\n`);

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/** dist/ must hold the code being measured: rebuilt when older than its sources. */
function ensureBuilt() {
  const built = path.join(ROOT, 'dist/tasks/migrate.js');
  const sources = Math.max(newestMtime(path.join(ROOT, 'src')), newestMtime(path.join(ROOT, 'tasks')), statSync(path.join(ROOT, 'build/build.mjs')).mtimeMs);
  if (existsSync(built) && statSync(built).mtimeMs >= sources) return;
  if (args['no-build']) throw new Error('dist/ is missing or older than src/: run `npm run build` first');
  log('building dist/ (older than its sources)');
  execFileSync(process.execPath, ['build/build.mjs'], { cwd: ROOT, stdio: 'inherit' });
}

ensureBuilt();
mkdirSync(WORK, { recursive: true });
await removeStaleRuns(WORK);
// Everything this run generates lives here and is removed at the end.
const runDir = path.join(WORK, `run-${process.pid}`);
const startedAt = new Date();
const psql = await findPsql();
log(psql ? `psql: ${psql.path} (${psql.version})` : 'psql not found: the floor is not measured');
log('starting PostgreSQL 18');
// A smoke run measures nothing: its servers skip the disk flushes that make each run's checkpoint slow.
const settings = mode === 'smoke' ? { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' } : undefined;
const server = await startServer(path.join(runDir, 'pg'), { settings });
// The server for the backup workloads starts only if one of them runs.
const backup = backupServer(path.join(runDir, 'pg-backup'), log, settings);
const stop = () => Promise.all([server.stop(), backup.stop()].map((p) => p.catch(() => undefined))).then(() => rm(runDir, { recursive: true, force: true }));
process.once('SIGINT', () => stop().then(() => process.exit(130)));

const only = args.only?.split(',').map((s) => s.trim().toUpperCase());
const selected = plan(mode).filter(({ workload }) => !only || only.some((id) => workload.id.toUpperCase() === id || workload.id.toUpperCase().startsWith(`${id}-`)));
// A smoke run's timings are not read: the backup server starts while the
// migration workloads run instead of after them (a failure shows where W4/W5 use it).
if (mode === 'smoke' && selected.some(({ workload }) => /^W[45]\b/.test(workload.id))) backup.get().catch(() => undefined);

const results = [];
try {
  const ctx = { server, psql, work: path.join(runDir, 'data'), shared: {}, mode, backupServer: backup.get };
  for (const { workload, runs, warmup } of selected) {
    log(`${workload.id}: ${workload.title}`);
    results.push(await runWorkload(workload, ctx, { runs, warmup, log }));
  }
  const versions = {
    node: process.version,
    'PostgreSQL server': server.version,
    psql: psql ? psql.version : 'not found',
    dbmate: dbmate.version(),
    'node-pg-migrate': nodePgMigrate.version(),
    'golang-migrate': golangMigrate.toolVersion(),
    tidemark: `${tidemark.version()} (${sourceRevision()})`,
    ...(await backup.versions()),
  };
  const findingsFile = path.resolve(args.findings ?? path.join(ROOT, 'bench/FINDINGS.md'));
  const findings = mode === 'full' && existsSync(findingsFile) ? readFileSync(findingsFile, 'utf8') : undefined;
  const report = renderReport({ mode, startedAt, durationMs: Date.now() - startedAt.getTime(), machine: machine(), versions, results: evaluateTargets(results), findings, method: await backup.method() });
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, report);
  log(`wrote ${path.relative(process.cwd(), out) || out}`);
} finally {
  await stop();
}
