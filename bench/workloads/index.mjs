// The benchmark plan: which workloads run, at which sizes, how many times.
// A new workload is a module in this directory exporting a function that
// returns { id, series, n, title, contenders: [{ name, role, prepare, run }], targets },
// listed here.
import w1 from './w1-apply.mjs';
import w2 from './w2-status.mjs';
import w3 from './w3-noop.mjs';
import w7 from './w7-large.mjs';
import w4 from './w4-backup.mjs';
import w5 from './w5-restore.mjs';
import w6 from './w6-backfill.mjs';
import w9 from './w9-verify.mjs';
import w10 from './w10-lint.mjs';
import w11 from './w11-fleet.mjs';
import w8 from './w8-project.mjs';
import w12 from './w12-pitr.mjs';

const SIZES = {
  full: { small: 100, main: 1000, large: 10000 },
  quick: { small: 20, main: 100, large: 300 },
  // Only proves that every workload and contender still runs (the test suite's check):
  // no separate small size, the growth table's second point is W7's.
  smoke: { main: 10, large: 20 },
};

// W11: tenant schemas migrated by one fleet run (each gets this many migrations).
const FLEET = {
  full: { schemas: 200, migrations: 10 },
  quick: { schemas: 50, migrations: 10 },
  smoke: { schemas: 5, migrations: 2 },
};

// W4/W5: event rows of the generated database (full: over 1 GB); W6: rows backfilled.
const DATA = {
  full: { events: 4_000_000, backfill: 1_000_000 },
  quick: { events: 20_000, backfill: 20_000 },
  smoke: { events: 2_000, backfill: 2_000 },
};

/** Counted runs and warm-up rounds: `full` as given; quick runs twice; a smoke run once, without warm-up. */
function rounds(mode, full) {
  if (mode === 'smoke') return { runs: 1, warmup: 0 };
  return { runs: mode === 'quick' ? 2 : full, warmup: 1 };
}

/** Each entry: a workload and its runs and warm-up rounds. */
export function plan(mode) {
  const { small, main, large } = SIZES[mode];
  const runs = (full) => rounds(mode, full);
  return [
    { workload: w1({ n: main }), ...runs(7) },
    { workload: w2({ n: main }), ...runs(7) },
    { workload: w3({ n: main }), ...runs(7) },
    { workload: w9({ n: main }), ...runs(3) },
    ...(small ? smallSeries(small, runs(5)) : []),
    ...w7({ n: large }).map((workload) => ({ workload, ...runs(5) })),
    ...dataWorkloads(mode),
    { workload: w10({ n: main }), ...runs(7) },
    // The shell loop starts the command once per tenant: a round takes tens of seconds.
    { workload: w11(FLEET[mode]), ...runs(3) },
    // W8's project is the same at every size of the plan: it is a realistic history, not a scaled one.
    ...w8().map((workload) => ({ workload, ...runs(7) })),
    // W12: physical backups and point-in-time restores (pgBackRest) of the W4 database; a backup round takes about 90 s.
    ...w12({ events: DATA[mode].events }).map((workload) => ({ workload, ...runs(5) })),
  ];
}

/** The smaller size of each series, for the growth table; the targets are stated for the main size. */
function smallSeries(n, rounds) {
  return [
    { workload: w1({ n, id: 'W1-small', targets: [] }), ...rounds },
    { workload: w2({ n, id: 'W2-small', targets: [] }), ...rounds },
    { workload: w3({ n, id: 'W3-small', targets: [] }), ...rounds },
  ];
}

/** W4-W6: backup, restore and backfill (the backup server starts only when W4 or W5 runs). */
function dataWorkloads(mode) {
  const { events, backfill } = DATA[mode];
  // Each round takes seconds (W6) to tens of seconds (W4, W5); nine counted rounds
  // keep the medians steady within about 20 minutes on a 2-core machine.
  return [
    w4({ events }),
    w5({ events, jobs: 1 }),
    w5({ events, jobs: 4 }),
    w6({ rows: backfill, batchSize: 1000 }),
    w6({ rows: backfill, batchSize: 10000 }),
  ].map((workload) => ({ workload, ...rounds(mode, 9) }));
}
