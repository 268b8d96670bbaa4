// How each contender is started: tidemark's compiled CLI, the dbmate binary
// shipped in its npm package, node-pg-migrate's CLI and psql. Every command
// runs with a minimal environment in an empty directory, so that no .env file
// or inherited NODE_OPTIONS reaches any of them.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { measure } from './measure.mjs';
import { ROOT, WORK } from './paths.mjs';
import { internals } from './internals.mjs';

const require = createRequire(path.join(ROOT, 'package.json'));
export const SCRATCH = path.join(WORK, 'cwd');

function env(databaseUrl, extra) {
  const base = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? SCRATCH, LANG: 'C.UTF-8', DATABASE_URL: databaseUrl, ...extra };
  return base;
}

/** Measures one command in the scratch directory; `extra` adds variables to the minimal environment. */
export function run(command, args, databaseUrl, extra = {}) {
  mkdirSync(SCRATCH, { recursive: true });
  return measure(command, args, { env: env(databaseUrl, extra), cwd: SCRATCH });
}

export const tidemark = {
  migrate: (url, dir) => run(process.execPath, [path.join(ROOT, 'dist/tasks/migrate.js'), '--dir', dir], url),
  status: (url, dir) => run(process.execPath, [path.join(ROOT, 'dist/tasks/migrate-status.js'), '--dir', dir], url),
  downAll: (url, dir) => run(process.execPath, [path.join(ROOT, 'dist/tasks/migrate-down.js'), '--all', '--yes', '--dir', dir], url),
  version: () => JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version,
};

/** The Go binary inside the dbmate npm package (@dbmate/<platform>-<arch>). */
function dbmateBinary() {
  const pkg = `@dbmate/${process.platform}-${process.arch}`;
  const file = path.join(path.dirname(require.resolve(`${pkg}/package.json`)), 'bin', process.platform === 'win32' ? 'dbmate.exe' : 'dbmate');
  if (!existsSync(file)) throw new Error(`dbmate binary not found at ${file}`);
  return file;
}

/** The `dbmate` command npm installs (node_modules/.bin): a Node script that spawns the binary. */
function dbmateNpmBin() {
  return path.join(ROOT, 'node_modules', '.bin', 'dbmate');
}

export const dbmate = {
  binary: dbmateBinary,
  up: (url, dir, viaNpmBin = false) => run(viaNpmBin ? dbmateNpmBin() : dbmateBinary(), ['--no-dump-schema', '--migrations-dir', dir, 'up'], url),
  status: (url, dir, viaNpmBin = false) => run(viaNpmBin ? dbmateNpmBin() : dbmateBinary(), ['--no-dump-schema', '--migrations-dir', dir, 'status'], url),
  version: () => execFileSync(dbmateBinary(), ['--version'], { encoding: 'utf8' }).trim().replace(/^dbmate version\s*/, ''),
};

/**
 * golang-migrate v4 (postgres driver, file source): the binary the project
 * keeps in ../shared/vendor/bin beside the checkout. Undefined where it is
 * not there; the workloads then skip it with a note.
 */
export const GOLANG_MIGRATE = path.resolve(ROOT, '..', 'shared', 'vendor', 'bin', 'migrate');

export const golangMigrate = {
  available: () => existsSync(GOLANG_MIGRATE),
  up: (url, dir) => run(GOLANG_MIGRATE, ['-path', dir, '-database', url, 'up'], url),
  downAll: (url, dir) => run(GOLANG_MIGRATE, ['-path', dir, '-database', url, 'down', '-all'], url),
  /** golang-migrate has no status listing: `version` reads the version row and prints it (on stderr). */
  version: (url, dir) => run(GOLANG_MIGRATE, ['-path', dir, '-database', url, 'version'], url),
  toolVersion: () => {
    if (!existsSync(GOLANG_MIGRATE)) return 'not found';
    const { stdout, stderr } = spawnSync(GOLANG_MIGRATE, ['-version'], { encoding: 'utf8' });
    return `${stdout}${stderr}`.trim() || 'unknown';
  },
};

const nodePgMigrateBin = () => path.join(path.dirname(require.resolve('node-pg-migrate/package.json')), 'bin', 'node-pg-migrate.js');

export const nodePgMigrate = {
  /** `up`; singleTransaction=false adds --no-single-transaction (one transaction per migration). */
  up: (url, dir, { singleTransaction = true } = {}) =>
    run(process.execPath, [nodePgMigrateBin(), 'up', '--migrations-dir', dir, ...(singleTransaction ? [] : ['--no-single-transaction'])], url),
  version: () => JSON.parse(readFileSync(path.join(path.dirname(require.resolve('node-pg-migrate/package.json')), 'package.json'), 'utf8')).version,
};

export const psql = {
  run: (binary, url, file) => run(binary, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', file, url], url),
};

/** The newest psql installed (PATH, Debian's /usr/lib/postgresql/*, Homebrew), or undefined. */
export async function findPsql() {
  const { findTools } = await internals();
  const found = await findTools('psql', process.env);
  return found.sort((a, b) => b.major - a.major)[0];
}
