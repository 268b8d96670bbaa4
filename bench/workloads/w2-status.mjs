// W2: `migrate:status` with n applied migrations, cold CLI, against `dbmate status`.
import { dbmate, golangMigrate, tidemark } from '../lib/tools.mjs';
import { dbName, dropDatabase, expectSuccess, nodeStartup, nodePgFloor, NODE_PG_FLOOR, freshDatabase, sources, template } from './common.mjs';
import { ratioAtMost } from '../lib/targets.mjs';

function statusContender(id, name, role, tool, status, { needs, mentions = (ctx) => String(ctx.n) } = {}) {
  return {
    name,
    role,
    needs,
    prepare: async (ctx) => freshDatabase(ctx, dbName(id, name), await template(ctx, tool, ctx.n)),
    run: async (ctx, db) => status(db.url, await sources(ctx, ctx.n)),
    verify: async (ctx, db, result) => {
      expectSuccess(name, result);
      const output = `${result.stdout}${result.stderr}`;
      if (!output.includes(mentions(ctx))) throw new Error(`${name}: the output does not mention ${mentions(ctx)}:\n${output.slice(-500)}`);
    },
    cleanup: dropDatabase,
  };
}

export default function w2({ n, id = 'W2', series = 'W2', targets, withNpmBin = true } = {}) {
  return {
    id,
    series,
    n,
    title: `\`migrate:status\` with ${n.toLocaleString('en-US')} applied migrations (cold CLI)`,
    description: [
      'Each contender reads a fresh copy of a database in which the tool itself applied the same n migrations.',
      `tidemark: \`node dist/tasks/migrate-status.js --dir …\`; dbmate: \`dbmate --no-dump-schema status\` through the Go binary; golang-migrate: \`migrate … version\`, which only reads and prints the version row (it has no status listing)${withNpmBin ? ', and, for reference, through the `dbmate` command that npm installs (`node_modules/.bin/dbmate`, a Node script that spawns the same binary), `node -e 0`: Node.js starting and exiting with no work, and `node + pg`: a script that loads pg, connects, reads the version row and prints it, bundled as tidemark bundles its commands (without the code cache): the least any Node.js migration tool does; `node + pg + files`: the same, plus listing the directory and reading and hashing (SHA-256) every up file while it connects, then comparing them with the checksums in the history: the least a Node.js tool does that notices an edited migration' : ''}.`,
    ],
    contenders: [
      statusContender(id, 'tidemark', 'subject', 'tidemark', (url, src) => tidemark.status(url, src.tidemark)),
      statusContender(id, 'dbmate', 'peer', 'dbmate', (url, src) => dbmate.status(url, src.dbmate)),
      // golang-migrate has no listing of migrations: `version` (the version row) is the nearest it has.
      statusContender(id, 'golang-migrate version', 'peer', 'golang-migrate', (url, src) => golangMigrate.version(url, src.tidemark), { needs: 'golang-migrate' }),
      statusContender(id, 'dbmate (npm bin)', 'reference', 'dbmate', (url, src) => dbmate.status(url, src.dbmate, true)),
      nodeStartup(id),
      nodePgFloor(id, n),
      nodePgFloor(id, n, { files: true }),
    ].filter((c) => withNpmBin || c.role !== 'reference'),
    targets: targets ?? [ratioAtMost('dbmate', 1.0), ...(withNpmBin ? [ratioAtMost(NODE_PG_FLOOR, 1.15)] : [])],
  };
}
