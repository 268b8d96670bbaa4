// W10: `migrate:lint` of n migration files (cold CLI) against `migrate` of the
// same files: a lint in CI before each deploy must cost less than the
// migration it checks.
import path from 'node:path';
import { ROOT } from '../lib/paths.mjs';
import { run, tidemark } from '../lib/tools.mjs';
import { dbName, dropDatabase, expectSuccess, expectTables, freshDatabase, sources } from './common.mjs';
import { ratioAtMost } from '../lib/targets.mjs';

const lintScript = path.join(ROOT, 'dist/tasks/migrate-lint.js');

/** Every file linted, none with a finding: CREATE TABLE needs no care. */
function expectLinted(name, result, n) {
  expectSuccess(name, result);
  const summary = `Linted ${n.toLocaleString('en-US')} file${n === 1 ? '' : 's'}`;
  if (!result.stdout.includes(summary)) throw new Error(`${name}: expected "${summary}" in:\n${result.stdout.slice(-500)}`);
  if (!result.stdout.includes('0 errors, 0 warnings, 0 notices')) throw new Error(`${name}: unexpected findings:\n${result.stdout.slice(-2000)}`);
}

function lintContender(id, name, role, args) {
  return {
    name,
    role,
    prepare: (ctx) => freshDatabase(ctx, dbName(id, name)),
    run: async (ctx, db) => run(process.execPath, [lintScript, '--dir', (await sources(ctx, ctx.n)).tidemark, ...args], db.url),
    verify: async (ctx, db, result) => expectLinted(name, result, ctx.n),
    cleanup: dropDatabase,
  };
}

export default function w10({ n, id = 'W10', series = 'W10', targets } = {}) {
  return {
    id,
    series,
    n,
    title: `\`migrate:lint\` of ${n.toLocaleString('en-US')} migration files against \`migrate\` of the same files (cold CLI)`,
    description: [
      'The files are W1\'s: one `CREATE TABLE t_i (id int primary key, v text)` each.',
      'tidemark migrate:lint: `node dist/tasks/migrate-lint.js --dir … --all --offline` (static: PostgreSQL\'s parser, no connection); '
        + 'with the database: the same without `--all --offline`, on an empty database (all files pending, the server\'s version and catalog); '
        + 'migrate: `node dist/tasks/migrate.js --dir …` applying them to an empty database.',
    ],
    contenders: [
      lintContender(id, 'migrate:lint', 'subject', ['--all', '--offline']),
      lintContender(id, 'migrate:lint with the database', 'reference', []),
      {
        name: 'migrate',
        role: 'reference',
        prepare: (ctx) => freshDatabase(ctx, dbName(id, 'migrate')),
        run: async (ctx, db) => tidemark.migrate(db.url, (await sources(ctx, ctx.n)).tidemark),
        verify: async (ctx, db, result) => {
          expectSuccess('migrate', result);
          await expectTables(ctx, db.name, ctx.n, 'migrate');
        },
        cleanup: dropDatabase,
      },
    ],
    targets: targets ?? [ratioAtMost('migrate', 1.0)],
  };
}
