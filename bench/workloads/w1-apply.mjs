// W1: apply n migrations (one CREATE TABLE each) to an empty database, from a
// cold CLI start, against PostgreSQL's own floor and the peers.
import { dbmate, golangMigrate, nodePgMigrate, psql, tidemark } from '../lib/tools.mjs';
import { dbName, dropDatabase, expectSuccess, expectTables, freshDatabase, sources } from './common.mjs';
import { ratioAtMost, fasterThanPeers } from '../lib/targets.mjs';

function applyContender(id, name, role, apply, { needs } = {}) {
  return {
    name,
    role,
    needs,
    prepare: (ctx) => freshDatabase(ctx, dbName(id, name)),
    run: async (ctx, db) => apply(ctx, db.url, await sources(ctx, ctx.n)),
    verify: async (ctx, db, result) => {
      expectSuccess(name, result);
      await expectTables(ctx, db.name, ctx.n, name);
    },
    cleanup: dropDatabase,
  };
}

/** `only`: the contenders to keep besides tidemark (all by default). */
export default function w1({ n, id = 'W1', series = 'W1', only, targets } = {}) {
  const contenders = [
    applyContender(id, 'psql floor', 'floor', (ctx, url, src) => psql.run(ctx.psql.path, url, src.psql), { needs: 'psql' }),
    applyContender(id, 'tidemark', 'subject', (ctx, url, src) => tidemark.migrate(url, src.tidemark)),
    applyContender(id, 'dbmate', 'peer', (ctx, url, src) => dbmate.up(url, src.dbmate)),
    applyContender(id, 'golang-migrate', 'peer', (ctx, url, src) => golangMigrate.up(url, src.tidemark), { needs: 'golang-migrate' }),
    applyContender(id, 'node-pg-migrate', 'peer', (ctx, url, src) => nodePgMigrate.up(url, src.nodePgMigrate)),
    applyContender(id, 'node-pg-migrate --no-single-transaction', 'peer', (ctx, url, src) => nodePgMigrate.up(url, src.nodePgMigrate, { singleTransaction: false })),
  ].filter((c) => !only || c.role === 'subject' || only.includes(c.name));
  return {
    id,
    series,
    n,
    title: `apply ${n.toLocaleString('en-US')} migrations to an empty database (cold CLI)`,
    description: [
      'Each migration is `CREATE TABLE t_i (id int primary key, v text)`, in its own file in each tool\'s format.',
      'psql floor: one psql session running a generated script with, per migration, `BEGIN; CREATE TABLE …; DELETE FROM bench_version; INSERT INTO bench_version …; COMMIT;`.',
      'tidemark: `node dist/tasks/migrate.js --dir …`; dbmate: the Go binary from its npm package, `--no-dump-schema up`; golang-migrate: `migrate -path … -database … up` on the same directory as tidemark; node-pg-migrate: `up` on SQL files, by default all pending migrations in one transaction, and with `--no-single-transaction` one transaction per migration as the others.',
    ],
    contenders,
    targets: targets ?? [ratioAtMost('psql floor', 1.15), fasterThanPeers()],
  };
}
