// W4: `tidemark backup` of a generated database (at least 1 GB in the full
// run), cold CLI, by default (reading the archive back while it is written)
// and with --no-verify, against `pg_dump -Fc -f FILE` alone.
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { expectSuccess } from './common.mjs';
import { DATABASE, dataset, describeDataset, megabytes, settle, tools } from './dataset.mjs';
import { pairRatioAtMost, peakMemoryAtMost, ratioAtMost } from '../lib/targets.mjs';

const MEMORY_LIMIT_MB = 120;

/** An empty backup directory per contender: the previous run's files are gone before each run. */
async function emptyDir(ctx, name) {
  const dir = path.join(ctx.work, 'w4', name.replace(/[^a-z0-9]+/gi, '-'));
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** The size of each contender's last archive, for the report. */
const lastDump = {};

function contender(name, role, events, backup, check) {
  return {
    name,
    role,
    prepare: async (ctx) => {
      const data = await dataset(ctx, events);
      const dir = await emptyDir(ctx, name);
      await settle(ctx, data.server);
      return { data, dir };
    },
    run: (ctx, { data, dir }) => backup(data, dir),
    verify: async (ctx, { dir }, result) => {
      expectSuccess(name, result);
      const dumps = (await readdir(dir)).filter((f) => f.endsWith('.dump'));
      if (dumps.length !== 1) throw new Error(`${name}: expected one .dump in ${dir}, found ${dumps.join(', ') || 'none'}`);
      const size = (await stat(path.join(dir, dumps[0]))).size;
      if (!size) throw new Error(`${name}: the dump is empty`);
      lastDump[name] = size;
      await check?.(dir, dumps[0]);
    },
    cleanup: (ctx, prepared) => rm(prepared.dir, { recursive: true, force: true }),
  };
}

/** tidemark's manifest must say what the run did: verified by default, not with --no-verify. */
const manifestSays = (verified) => async (dir, file) => {
  const manifest = JSON.parse(await readFile(path.join(dir, `${file}.manifest.json`), 'utf8'));
  if (!!manifest.verified !== verified) throw new Error(`tidemark backup: the manifest says verified=${!!manifest.verified}, expected ${verified}`);
};

export default function w4({ events, id = 'W4' }) {
  return {
    id,
    series: id,
    n: events,
    unit: 'event rows',
    title: `\`backup\` of a generated database (${events.toLocaleString('en-US')} events), cold CLI`,
    description: [
      `The database \`${DATABASE}\` (accounts, events with a text payload and numeric amounts, notes; primary keys, a unique and a composite index, foreign keys) is generated once with \`INSERT … SELECT generate_series\`, vacuumed and frozen; it is only read afterwards, so every run dumps the same state. Each run writes into an emptied directory, after a \`CHECKPOINT\` and a \`sync\`.`,
      `tidemark: \`node dist/tasks/backup-create.js\` with \`DATABASE_URL\`, \`BACKUP_DIR\` and \`PG_BIN_DIR\` (the backup server's bin directory): pg_dump -Fc to a pipe, the bytes written to a hidden file, hashed (SHA-256) and, by default, fed to \`pg_restore --file=/dev/null\` which reads the whole archive back; then fsync, rename and the manifest. \`tidemark --no-verify\` skips the read-back.`,
      'pg_dump: `pg_dump -h 127.0.0.1 -p PORT -U postgres --no-password --format=custom --file=FILE bench_data`, password from a passfile (`PGPASSFILE`), `PGSSLMODE=disable`; pg_dump fsyncs its file by default. Same binary, server, database and default compression as tidemark\'s.',
    ],
    contenders: [
      contender('tidemark', 'subject', events, (data, dir) => tools.tidemarkBackup(data, dir), manifestSays(true)),
      contender('tidemark --no-verify', 'variant', events, (data, dir) => tools.tidemarkBackup(data, dir, { verify: false }), manifestSays(false)),
      contender('pg_dump -Fc', 'peer', events, (data, dir) => tools.pgDump(data, path.join(dir, `${DATABASE}.dump`))),
    ],
    pairs: [['tidemark --no-verify', 'pg_dump -Fc']],
    notes: async (ctx) => {
      const data = await dataset(ctx, events);
      const sizes = Object.entries(lastDump).map(([k, v]) => `${k} ${megabytes(v)}`);
      return [describeDataset(data), `Archive size (last run): ${sizes.join(', ')}.`];
    },
    targets: [
      ratioAtMost('pg_dump -Fc', 1.03),
      pairRatioAtMost('tidemark --no-verify', 'pg_dump -Fc', 1.03),
      peakMemoryAtMost(MEMORY_LIMIT_MB),
    ],
  };
}
