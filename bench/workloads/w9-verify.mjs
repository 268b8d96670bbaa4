// W9: `migrate:verify` of n migrations (each checked up, down, up again, with
// the schema fingerprinted between) against a plain `migrate` of the same
// files, both from a cold CLI start on an empty database.
import path from 'node:path';
import { run, tidemark } from '../lib/tools.mjs';
import { ROOT } from '../lib/paths.mjs';
import { countTables, dbName, dropDatabase, expectSuccess, expectTables, freshDatabase, sources } from './common.mjs';
import { ratioAtMost } from '../lib/targets.mjs';

const verify = (url, dir) => run(process.execPath, [path.join(ROOT, 'dist/tasks/migrate-verify.js'), '--dir', dir], url);

/** The scratch databases a run of migrate:verify left on the server (none when it cleaned up). */
async function leftovers(ctx) {
  const { rows } = await ctx.server.query("SELECT count(*)::int AS n FROM pg_database WHERE datname LIKE 'tidemark\\_scratch\\_%'", 'postgres');
  return rows[0].n;
}

function contender(id, name, role, go, check) {
  return {
    name,
    role,
    prepare: (ctx) => freshDatabase(ctx, dbName(id, name)),
    run: async (ctx, db) => go(db.url, (await sources(ctx, ctx.n)).tidemark),
    verify: async (ctx, db, result) => {
      expectSuccess(name, result);
      await check(ctx, db);
    },
    cleanup: dropDatabase,
  };
}

export default function w9({ n, id = 'W9' } = {}) {
  return {
    id,
    series: 'W9',
    n,
    title: `\`migrate:verify\` of ${n.toLocaleString('en-US')} migrations against \`migrate\` of the same files (cold CLI)`,
    description: [
      'The W1 migrations (`CREATE TABLE t_i (id int primary key, v text)`, down `DROP TABLE t_i`), in golang-migrate\'s layout.',
      'tidemark migrate:verify: `node dist/tasks/migrate-verify.js --dir …` on an empty database: all n are pending, each is checked in a scratch database on the same server (up, fingerprint, down, compare, up, compare), which is dropped at the end.',
      'tidemark migrate: `node dist/tasks/migrate.js --dir …` on an empty database.',
    ],
    contenders: [
      contender(id, 'tidemark migrate:verify', 'subject', verify, async (ctx, db) => {
        if ((await countTables(ctx, db.name)) !== 0) throw new Error('migrate:verify changed the configured database');
        if ((await leftovers(ctx)) !== 0) throw new Error('migrate:verify left a scratch database');
      }),
      contender(id, 'tidemark migrate', 'reference', (url, dir) => tidemark.migrate(url, dir), (ctx, db) => expectTables(ctx, db.name, ctx.n, 'tidemark migrate')),
    ],
    targets: [ratioAtMost('tidemark migrate', 3)],
  };
}
