// W12: physical backups and point-in-time recovery through pgBackRest, on the
// W4 database in an archiving cluster of its own (bench/lib/pitr-cluster.mjs).
// W12-backup: `pitr:backup --type full` against `pgbackrest backup --type=full`
// alone, with the configuration tidemark wrote, and against `backup:create`
// (pg_dump) of the same database. W12-restore: `pitr:restore --to T
// --target-dir DIR --start` against `backup:restore --new` of a dump.
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { expectSuccess } from './common.mjs';
import { archive, DATABASE, dataset, describeDataset, megabytes, settle, tools } from './dataset.mjs';
import { pgbackrestVersion, pitrUnavailable, startPitrCluster } from '../lib/pitr-cluster.mjs';
import { ROOT } from '../lib/paths.mjs';
import { run } from '../lib/tools.mjs';
import { ratioAtMost } from '../lib/targets.mjs';

const PEER_BACKUP = 'pgbackrest backup --type=full';
const log = (line) => process.stderr.write(`${line}\n`);
const cli = (name) => path.join(ROOT, 'dist/tasks', `${name}.js`);
const tidemarkPitr = (pitr, name, args) => run(process.execPath, [cli(name), ...args, '--json'], pitr.url, pitr.env);

/**
 * The cluster, started once per run of the harness and loaded with the W4
 * data set by dataset.mjs itself (its own cache and work directory, so that
 * W4's database on the backup server is another).
 */
function pitrCluster(ctx, events) {
  ctx.shared.w12 ??= (async () => {
    const own = { ...ctx, work: path.join(ctx.work, 'w12'), shared: {} };
    // As the harness's servers in a smoke run: no disk flushes.
    const settings = ctx.mode === 'smoke' ? { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' } : {};
    const load = async (server) => {
      own.backupServer = async () => server;
      await dataset(own, events);
    };
    const pitr = await startPitrCluster(path.join(path.dirname(ctx.work), 'pg-pitr'), { settings, database: DATABASE, load, log });
    return { ...pitr, own, data: await dataset(own, events) };
  })();
  return ctx.shared.w12;
}

const parsed = (label, result) => {
  expectSuccess(label, result);
  return JSON.parse(result.stdout);
};

const fullBackups = async (pitr) => parsed('pitr:list', await tidemarkPitr(pitr, 'pitr-list', [])).backups.filter((b) => b.type === 'full');

/** What the last run of each contender left, for the notes. */
const last = {};

/** A backup contender: each run starts after a checkpoint and a sync, with the previous runs' backups expired but the newest. */
function backupContender(name, role, events, backup, check) {
  return {
    name,
    role,
    unavailable: pitrUnavailable,
    prepare: async (ctx) => {
      const pitr = await pitrCluster(ctx, events);
      const dir = path.join(ctx.work, 'w12-dumps');
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const before = new Set((await fullBackups(pitr)).map((b) => b.label));
      await settle(ctx, pitr.server);
      return { pitr, dir, before };
    },
    run: (ctx, prepared) => backup(prepared),
    verify: async (ctx, prepared, result) => {
      expectSuccess(name, result);
      await check(prepared, result);
    },
    cleanup: async (ctx, { pitr, dir }) => {
      await rm(dir, { recursive: true, force: true });
      expectSuccess('pitr:prune', await tidemarkPitr(pitr, 'pitr-prune', ['--keep-full', '1']));
    },
  };
}

/** One new full backup in the repository, besides those before the run. */
async function expectNewFull({ pitr, before }, label) {
  const made = (await fullBackups(pitr)).filter((b) => !before.has(b.label));
  if (made.length !== 1) throw new Error(`${label}: expected one new full backup, found ${made.length}`);
  return made[0];
}

const checks = {
  pitr: async (prepared, result) => {
    const { manifest } = JSON.parse(result.stdout);
    const made = await expectNewFull(prepared, 'pitr:backup');
    if (manifest.label !== made.label || manifest.type !== 'full') throw new Error(`pitr:backup: the manifest names ${manifest.type} ${manifest.label}, pgBackRest ${made.label}`);
    last.physical = { size: manifest.size, stored: manifest.repoDelta };
  },
  peer: async (prepared) => void (await expectNewFull(prepared, PEER_BACKUP)),
  dump: async ({ dir }) => {
    const dumps = (await readdir(dir)).filter((f) => f.endsWith('.dump'));
    if (dumps.length !== 1) throw new Error(`backup:create: expected one .dump in ${dir}, found ${dumps.join(', ') || 'none'}`);
    last.dump = (await stat(path.join(dir, dumps[0]))).size;
  },
};

function backupWorkload(events) {
  return {
    id: 'W12-backup',
    series: 'W12-backup',
    n: events,
    unit: 'event rows',
    title: `\`pitr:backup --type full\` of the W4 database (${events.toLocaleString('en-US')} events) in an archiving cluster, cold CLI`,
    description: [
      `The W4 database \`${DATABASE}\`, generated by the same code into a cluster of its own (Debian's PostgreSQL, run by \`postgres\`, a Unix socket for pgBackRest) before archiving is turned on; then \`pitr:init --apply\`, a restart (archive_mode) and \`pitr:init\` (pgBackRest's check), with \`BACKUP_DIR\`, \`PITR_STANZA=bench\` and \`PG_BIN_DIR\`: pgBackRest's defaults (gz compression, one process, \`start-fast=y\`, local repository in \`BACKUP_DIR/pitr/repo\`). Not timed.`,
      'Each run follows a `CHECKPOINT` and a `sync`; afterwards (not timed) `pitr:prune --keep-full 1` expires all but the newest full backup, so that every run starts from the same repository: one full backup before it.',
      'tidemark: `node dist/tasks/pitr-backup.js --type full --json`: reads the server\'s facts, rewrites pgbackrest.conf, `pgbackrest info`, `pgbackrest backup --type=full` as `postgres` (password in a passfile), `pgbackrest info` again, then writes its manifest.',
      `pgbackrest: \`${PEER_BACKUP}\` alone with the configuration tidemark wrote (\`--config\`, \`--config-include-path\`, \`--stanza\`), as \`postgres\` through \`setpriv\`, password from a passfile.`,
      'backup:create (pg_dump): `node dist/tasks/backup-create.js` of the same database (verified by default: pg_restore reads the archive back), as in W4.',
    ],
    contenders: [
      backupContender('tidemark pitr:backup --type full', 'subject', events, ({ pitr }) => tidemarkPitr(pitr, 'pitr-backup', ['--type', 'full']), checks.pitr),
      backupContender(PEER_BACKUP, 'peer', events, ({ pitr }) => pitr.peer.run('backup', ['--type=full']), checks.peer),
      backupContender('tidemark backup:create (pg_dump)', 'peer', events, ({ pitr, dir }) => tools.tidemarkBackup(pitr.data, dir), checks.dump),
    ],
    notes: async (ctx) => {
      if (pitrUnavailable()) return [];
      const { data } = await pitrCluster(ctx, events);
      const sizes = [
        last.physical && `full physical backup: cluster ${megabytes(last.physical.size)}, ${megabytes(last.physical.stored)} stored in the repository`,
        last.dump && `dump ${megabytes(last.dump)}`,
      ].filter(Boolean);
      return [describeDataset(data), `pgBackRest ${pgbackrestVersion()}. Sizes (last run): ${sizes.join('; ')}.`];
    },
    targets: [ratioAtMost(PEER_BACKUP, 1.03)],
  };
}

/** Polls until the server archived the WAL segment `wal` (or a later one). */
async function archived(server, wal) {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const { rows } = await server.query('SELECT last_archived_wal AS wal FROM pg_stat_archiver');
    if ((rows[0].wal ?? '') >= wal) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`W12: WAL segment ${wal} was not archived within two minutes`);
}

/**
 * The restore's point in time, made once: a full backup (the backup workload's
 * newest, or a new one), a row A, the time T, a row B, the WAL switched and
 * archived; then the dump the other contender restores (it holds A and B).
 */
function restorePoint(ctx, events) {
  ctx.shared.w12Point ??= (async () => {
    const pitr = await pitrCluster(ctx, events);
    if (!(await fullBackups(pitr)).length) expectSuccess('pitr:backup', await tidemarkPitr(pitr, 'pitr-backup', ['--type', 'full']));
    const sql = (text) => pitr.server.query(text, DATABASE);
    await sql("CREATE TABLE w12_marks (id int PRIMARY KEY, note text); INSERT INTO w12_marks VALUES (1, 'A')");
    // A Date keeps milliseconds: T is the next one, so that A (committed before) is never after it.
    const at = new Date((await sql('SELECT clock_timestamp() AS t')).rows[0].t.getTime() + 1);
    while ((await sql('SELECT clock_timestamp() AS t')).rows[0].t.getTime() <= at.getTime()) continue;
    await sql("INSERT INTO w12_marks VALUES (2, 'B')");
    await archived(pitr.server, (await sql('SELECT pg_walfile_name(pg_switch_wal()) AS wal')).rows[0].wal);
    return { pitr, at, dump: await archive(pitr.own, events) };
  })();
  return ctx.shared.w12Point;
}

/** The copy holds every event row and the marks the contender's target includes. */
async function expectCopy(url, events, marks, label) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const got = {
      events: (await client.query('SELECT count(*)::int AS n FROM events')).rows[0].n,
      marks: (await client.query('SELECT note FROM w12_marks ORDER BY id')).rows.map((r) => r.note),
    };
    const expected = { events, marks };
    if (JSON.stringify(got) !== JSON.stringify(expected)) throw new Error(`${label}: the copy holds ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
  } finally {
    await client.end();
  }
}

const copyUrl = (pitr, port) => pitr.server.url(DATABASE).replace(`:${pitr.server.opts.port}/`, `:${port}/`);

function pitrRestoreContender(events) {
  const name = 'tidemark pitr:restore --to T --start';
  return {
    name,
    role: 'subject',
    unavailable: pitrUnavailable,
    prepare: async (ctx) => {
      const point = await restorePoint(ctx, events);
      const dir = path.join(point.pitr.root, 'copy');
      await rm(dir, { recursive: true, force: true });
      await settle(ctx, point.pitr.server);
      return { ...point, dir };
    },
    run: (ctx, { pitr, at, dir }) => tidemarkPitr(pitr, 'pitr-restore', ['--to', at.toISOString(), '--target-dir', dir, '--start']),
    verify: async (ctx, { pitr }, result) => {
      const { started } = parsed(name, result);
      if (!started?.recovered) throw new Error(`${name}: the copy was not reported recovered`);
      await expectCopy(copyUrl(pitr, started.port), events, ['A'], name);
    },
    cleanup: async (ctx, { pitr, dir }) => {
      await pitr.server.devdb.stopCluster({ binDir: pitr.server.binDir, dataDir: dir }).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function dumpRestoreContender(events) {
  const name = 'tidemark backup:restore --new (dump)';
  const database = 'w12_restored';
  return {
    name,
    role: 'peer',
    unavailable: pitrUnavailable,
    prepare: async (ctx) => {
      const point = await restorePoint(ctx, events);
      const server = await ctx.backupServer();
      await server.dropDatabase(database);
      await settle(ctx, server);
      return { ...point, server };
    },
    run: (ctx, { dump, server }) => tools.tidemarkRestore({ server }, dump.file, database, 1),
    verify: async (ctx, { server }, result) => {
      expectSuccess(name, result);
      await expectCopy(server.url(database), events, ['A', 'B'], name);
    },
    cleanup: (ctx, { server }) => server.dropDatabase(database),
  };
}

function restoreWorkload(events) {
  return {
    id: 'W12-restore',
    series: 'W12-restore',
    n: events,
    unit: 'event rows',
    title: `\`pitr:restore --to T --start\` of the W4 database (${events.toLocaleString('en-US')} events) against \`backup:restore --new\` of its dump, cold CLI`,
    description: [
      'Made once, not timed: a full backup (W12-backup\'s newest), then in the archiving cluster a table `w12_marks` with row A, the time T, row B, a WAL switch waited for until archived; then one `tidemark backup` (dump) of the database, which holds A and B.',
      'tidemark pitr:restore: `node dist/tasks/pitr-restore.js --to T --target-dir DIR --start --json` into a directory that does not exist yet: `pgbackrest restore` of the newest full backup before T, recovery to T (WAL fetched from the repository by restore_command), the copy started on a free port of 127.0.0.1, and the command returns once the copy answers a query out of recovery. Verified (not timed): events all there, A and not B. The copy is stopped and removed after each run.',
      'backup:restore --new: `node dist/tasks/backup-restore.js FILE --new NAME` (one job) into the backup workloads\' running server (same PostgreSQL, no archiving), as W5; verified: events all there, A and B; dropped after each run. A dump restores to the moment it was taken, never to T; the server it restores into is already running.',
    ],
    contenders: [pitrRestoreContender(events), dumpRestoreContender(events)],
    notes: async (ctx) => {
      if (pitrUnavailable()) return [];
      const { pitr, at, dump } = await restorePoint(ctx, events);
      const notes = [describeDataset(pitr.data), `T = ${at.toISOString()}; dump ${megabytes(dump.size)}.`];
      // The last W12 step: the cluster is stopped here (the runner has no later hook for a workload).
      await pitr.stop();
      return notes;
    },
    targets: [],
  };
}

export default function w12({ events }) {
  return [backupWorkload(events), restoreWorkload(events)];
}
