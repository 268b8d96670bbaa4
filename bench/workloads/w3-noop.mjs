// W3: `migrate` with nothing pending (the common CI case), cold CLI.
import { dbmate, golangMigrate, nodePgMigrate, tidemark } from '../lib/tools.mjs';
import { dbName, dropDatabase, expectSuccess, nodeStartup, nodePgFloor, NODE_PG_FLOOR, expectTables, freshDatabase, sources, template } from './common.mjs';
import { ratioAtMost } from '../lib/targets.mjs';

function noopContender(id, name, role, tool, up, { needs } = {}) {
  return {
    name,
    role,
    needs,
    prepare: async (ctx) => freshDatabase(ctx, dbName(id, name), await template(ctx, tool, ctx.n)),
    run: async (ctx, db) => up(db.url, await sources(ctx, ctx.n)),
    verify: async (ctx, db, result) => {
      expectSuccess(name, result);
      await expectTables(ctx, db.name, ctx.n, name);
    },
    cleanup: dropDatabase,
  };
}

export default function w3({ n, id = 'W3', series = 'W3', withNodePgMigrate = true, withNpmBin = true, targets } = {}) {
  const contenders = [
    noopContender(id, 'tidemark', 'subject', 'tidemark', (url, src) => tidemark.migrate(url, src.tidemark)),
    noopContender(id, 'dbmate', 'peer', 'dbmate', (url, src) => dbmate.up(url, src.dbmate)),
    noopContender(id, 'golang-migrate', 'peer', 'golang-migrate', (url, src) => golangMigrate.up(url, src.tidemark), { needs: 'golang-migrate' }),
    noopContender(id, 'dbmate (npm bin)', 'reference', 'dbmate', (url, src) => dbmate.up(url, src.dbmate, true)),
    nodeStartup(id),
    nodePgFloor(id, n),
    nodePgFloor(id, n, { files: true }),
  ].filter((c) => withNpmBin || c.role !== 'reference');
  if (withNodePgMigrate) contenders.push(noopContender(id, 'node-pg-migrate', 'peer', 'node-pg-migrate', (url, src) => nodePgMigrate.up(url, src.nodePgMigrate)));
  return {
    id,
    series,
    n,
    title: `\`migrate\` with nothing pending, ${n.toLocaleString('en-US')} applied (cold CLI)`,
    description: [
      'Each contender runs its `up` on a fresh copy of a database in which it applied the same n migrations itself.',
      `tidemark: \`node dist/tasks/migrate.js --dir …\`; dbmate: \`--no-dump-schema up\` through the Go binary; golang-migrate: \`migrate … up\` on the same directory as tidemark${withNpmBin ? ' (and, for reference, the npm-installed `dbmate` command, `node -e 0`, Node.js start-up alone, and `node + pg`, a script that loads pg, connects, reads the version row and prints it, bundled as tidemark bundles its commands, without the code cache, and `node + pg + files`, the same plus listing the directory, reading and hashing every up file and comparing the checksums recorded in the history)' : ''}${withNodePgMigrate ? '; node-pg-migrate: `up`' : ''}.`,
    ],
    contenders,
    targets: targets ?? [ratioAtMost('dbmate', 1.0), ...(withNpmBin ? [ratioAtMost(NODE_PG_FLOOR, 1.15)] : [])],
  };
}
