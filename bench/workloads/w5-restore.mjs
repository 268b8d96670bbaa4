// W5: `tidemark restore FILE --new NAME [--jobs N]` of W4's archive, cold CLI,
// against `createdb -T template0 NAME` + `pg_restore --exit-on-error -d NAME`.
import path from 'node:path';
import { dbName, expectSuccess } from './common.mjs';
import { archive, describeDataset, megabytes, restoreScript, settle, tools } from './dataset.mjs';
import { ratioAtMost } from '../lib/targets.mjs';

/** The restored database must hold every row of the source. */
async function expectRestored(data, name, label) {
  const count = async (db) => (await data.server.query(
    'SELECT (SELECT count(*) FROM accounts)::int AS a, (SELECT count(*) FROM events)::int AS e, (SELECT count(*) FROM notes)::int AS n, (SELECT count(*) FROM pg_indexes WHERE schemaname = \'public\')::int AS i', db)).rows[0];
  const [got, expected] = [await count(name), { a: data.accounts, e: data.events, n: data.notes, i: 5 }];
  if (JSON.stringify(got) !== JSON.stringify(expected)) throw new Error(`${label}: restored ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
}

function contender(id, name, role, events, jobs, restore) {
  const database = dbName(id, name);
  return {
    name,
    role,
    // Every run starts with the target absent and the previous run's writes checkpointed.
    prepare: async (ctx) => {
      const source = await archive(ctx, events);
      await source.data.server.dropDatabase(database);
      await settle(ctx, source.data.server);
      return { source, database, script: await restoreScript(source.data, path.join(ctx.work, 'w5-scripts'), jobs) };
    },
    run: (ctx, prepared) => restore(prepared),
    verify: async (ctx, { source }, result) => {
      expectSuccess(name, result);
      await expectRestored(source.data, database, name);
    },
    cleanup: (ctx, { source }) => source.data.server.dropDatabase(database),
  };
}

export default function w5({ events, jobs, id = `W5-jobs${jobs}` }) {
  const flag = jobs > 1 ? ` --jobs ${jobs}` : '';
  return {
    id,
    series: id,
    n: events,
    unit: 'event rows',
    title: `\`restore --new\`${flag || ' --jobs 1'} of W4's archive, cold CLI`,
    description: [
      'The archive is one `tidemark backup` of the W4 database (custom format, with its manifest), made once; each run restores it into a new database that does not exist yet, after a `CHECKPOINT` and a `sync`; the database is dropped again after the run (not timed).',
      `tidemark: \`node dist/tasks/backup-restore.js FILE --new NAME${flag}\` with \`DATABASE_URL\` (the \`postgres\` database), \`BACKUP_DIR\` and \`PG_BIN_DIR\`: checks the archive's SHA-256 against its manifest, reads the server version, \`CREATE DATABASE NAME TEMPLATE template0\`, then \`pg_restore --exit-on-error --dbname NAME${jobs > 1 ? ` --jobs=${jobs}` : ''} FILE\`.`,
      `createdb + pg_restore: one \`/bin/sh\` script running \`createdb -h 127.0.0.1 -p PORT -U postgres --no-password -T template0 NAME\` then \`pg_restore -h 127.0.0.1 -p PORT -U postgres --no-password --exit-on-error${jobs > 1 ? ` --jobs=${jobs}` : ''} --dbname NAME FILE\` (\`--exit-on-error\` because tidemark passes it too), password from a passfile, \`PGSSLMODE=disable\`.`,
    ],
    contenders: [
      contender(id, 'tidemark', 'subject', events, jobs, ({ source, database }) => tools.tidemarkRestore(source.data, source.file, database, jobs)),
      contender(id, 'createdb + pg_restore', 'peer', events, jobs, ({ source, database, script }) => tools.createdbRestore(source.data, script, source.file, database)),
    ],
    notes: async (ctx) => {
      const source = await archive(ctx, events);
      return [describeDataset(source.data), `Archive: ${megabytes(source.size)}, written by \`tidemark backup\` (pg_dump ${source.manifest.pgDumpVersion}).`];
    },
    targets: [ratioAtMost('createdb + pg_restore', 1.03)],
  };
}
