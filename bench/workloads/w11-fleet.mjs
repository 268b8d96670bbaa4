// W11: a fleet of tenant schemas migrated by one command (`migrate
// --targets-sql`, one process, targets in parallel) against the way teams
// do it without one: a shell loop that runs the single-database command once
// per tenant.
import path from 'node:path';
import { ROOT } from '../lib/paths.mjs';
import { run } from '../lib/tools.mjs';
import { dbName, dropDatabase, expectSuccess, freshDatabase, sources } from './common.mjs';
import { pairRatioAtMost, ratioAtMost } from '../lib/targets.mjs';

const migrateScript = path.join(ROOT, 'dist/tasks/migrate.js');
const tenantsSql = (schemas) => `SELECT 'tenant_' || i AS schema FROM generate_series(1, ${schemas}) i ORDER BY i`;

// The loop as a team writes it: one cold start of the command per tenant, stopping at the first failure.
const SHELL_LOOP = 'i=1; while [ "$i" -le "$TENANTS" ]; do DATABASE_URL="$DATABASE_URL&search_path=tenant_$i" "$NODE" "$MIGRATE" --dir "$DIR" || exit 1; i=$((i + 1)); done';

/** A fresh database with `schemas` empty tenant schemas. */
async function tenantDatabase(ctx, name, schemas) {
  const db = await freshDatabase(ctx, name);
  await ctx.server.query(`DO $$ BEGIN FOR i IN 1..${schemas} LOOP EXECUTE format('CREATE SCHEMA %I', 'tenant_' || i); END LOOP; END $$`, name);
  return db;
}

/** Every tenant has every table and its version row at the last migration. */
async function expectMigrated(ctx, database, schemas, migrations, label) {
  const tables = await ctx.server.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname LIKE 'tenant\\_%' AND tablename ~ '^t_[0-9]+$'", database);
  if (tables.rows[0].n !== schemas * migrations) throw new Error(`${label}: expected ${schemas * migrations} tables, found ${tables.rows[0].n}`);
  const union = Array.from({ length: schemas }, (_, i) => `SELECT version FROM tenant_${i + 1}.schema_migrations WHERE NOT dirty`).join(' UNION ALL ');
  const versions = await ctx.server.query(`SELECT count(*)::int AS n FROM (${union}) v WHERE version = ${migrations}`, database);
  if (versions.rows[0].n !== schemas) throw new Error(`${label}: ${schemas - versions.rows[0].n} tenants not at version ${migrations}`);
}

function contender(id, name, role, schemas, migrations, start) {
  return {
    name,
    role,
    prepare: (ctx) => tenantDatabase(ctx, dbName(id, name), schemas),
    run: async (ctx, db) => start(db.url, (await sources(ctx, migrations)).tidemark),
    verify: async (ctx, db, result) => {
      expectSuccess(name, result);
      await expectMigrated(ctx, db.name, schemas, migrations, name);
    },
    cleanup: dropDatabase,
  };
}

const fleet = (schemas, parallel) => (url, dir) => run(process.execPath, [migrateScript, '--dir', dir, '--targets-sql', tenantsSql(schemas), '--parallel', String(parallel)], url);
const shellLoop = (schemas) => (url, dir) => run('/bin/sh', ['-c', SHELL_LOOP], url, { TENANTS: String(schemas), NODE: process.execPath, MIGRATE: migrateScript, DIR: dir });

export default function w11({ schemas, migrations, id = 'W11' } = {}) {
  const parallel8 = 'tidemark migrate --targets-sql --parallel 8';
  const parallel1 = 'tidemark migrate --targets-sql --parallel 1';
  const loop = 'shell loop: tidemark migrate once per tenant';
  return {
    id,
    series: 'W11',
    n: schemas,
    unit: `tenant schemas × ${migrations} migrations`,
    title: `\`migrate\` of ${schemas.toLocaleString('en-US')} tenant schemas × ${migrations} migrations: one fleet run against a shell loop`,
    description: [
      `${schemas} empty schemas \`tenant_1\`… in one fresh database; each gets W1's first ${migrations} migrations (\`CREATE TABLE t_i\`), its own version table, history and lock key.`,
      `fleet: \`node dist/tasks/migrate.js --dir … --targets-sql "${tenantsSql(schemas)}" --parallel N\`: one process, N tenants at a time (the connection cap, 20 by default, allows 10).`,
      `shell loop: \`sh -c '…'\` running \`node dist/tasks/migrate.js --dir …\` once per tenant with \`DATABASE_URL=…&search_path=tenant_i\`, one after the other (a cold start each); its peak memory is its largest single process.`,
    ],
    contenders: [
      contender(id, parallel8, 'subject', schemas, migrations, fleet(schemas, 8)),
      contender(id, parallel1, 'reference', schemas, migrations, fleet(schemas, 1)),
      contender(id, loop, 'peer', schemas, migrations, shellLoop(schemas)),
    ],
    pairs: [[parallel1, loop]],
    targets: [ratioAtMost(loop, 0.5), ratioAtMost(parallel1, 1.0), pairRatioAtMost(parallel1, loop, 1.0)],
  };
}
