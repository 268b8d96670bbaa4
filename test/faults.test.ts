/**
 * Fault injection: migrate, backup, restore and backfill under signals,
 * killed children, server restarts, a stalled or cut connection and a full
 * disk, each at a point chosen by a seeded PRNG; after each, the documented
 * end state is asserted. The trial count follows a time budget.
 *
 *   TIDEMARK_FAULT_SEED=N      the same choices again (printed at the start)
 *   TIDEMARK_FAULT_TRIALS=N    N trials per command instead of the budget
 *   TIDEMARK_FAULT_BUDGET_S=S  seconds of trials per lane (default 40)
 *   TIDEMARK_FAULT_MIN=N       at least N trials of every fault of a command (default 1)
 *   TIDEMARK_FAULT_ONLY=a,b    only these faults or command/fault pairs
 *   TIDEMARK_FAULT_REPLAY=command/fault/seed   one trial again (printed with each failure)
 */
import path from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, inject as provided, test } from 'vitest';
import { embeddedBinDir } from '../src/devdb/index.js';
import { ROOT } from './helpers/cli.js';
import { laneContext, runLane, type LaneContext, type LaneOptions, type Scenario } from './faults/lane.js';
import { startProxy } from './faults/proxy.js';
import { describeFailures, Tally } from './faults/report.js';
import { startPrivateServer } from './faults/server.js';
import { migrationSets } from './faults/scenarios/migrations.js';
import { migrateScenario } from './faults/scenarios/migrate.js';
import { backfillFixture, backfillScenario } from './faults/scenarios/backfill.js';
import { backupScenario, mountSmallDisk } from './faults/scenarios/backup.js';
import { restoreCleanScenario, restoreFixture, restoreNewScenario } from './faults/scenarios/restore.js';
import { sourceDatabase } from './faults/scenarios/source.js';
import { claimedStates, statementsSaidToRun } from './faults/scenarios/migrate-state.js';
import { rng, trialSeed } from './faults/rng.js';
import { errorCode } from './faults/trial.js';

const env = process.env;
const SEED = env.TIDEMARK_FAULT_SEED ? Number(env.TIDEMARK_FAULT_SEED) : Math.floor(Math.random() * 2 ** 31);
const BUDGET_MS = Number(env.TIDEMARK_FAULT_BUDGET_S ?? 40) * 1000;
const OPTIONS: LaneOptions = {
  suiteSeed: SEED, budgetMs: BUDGET_MS, minPerFault: Number(env.TIDEMARK_FAULT_MIN ?? 1),
  trials: env.TIDEMARK_FAULT_TRIALS ? Number(env.TIDEMARK_FAULT_TRIALS) : undefined,
  only: env.TIDEMARK_FAULT_ONLY?.split(',').map((s) => s.trim()).filter(Boolean),
  replay: env.TIDEMARK_FAULT_REPLAY,
};

const tally = new Tally();
const lanes: LaneContext[] = [];
const cleanups: Array<() => Promise<void> | void> = [];

async function lane(label: string, binDir: string): Promise<LaneContext> {
  const server = await startPrivateServer(binDir, label);
  const ctx = await laneContext(server, await startProxy(server.port), label);
  lanes.push(ctx);
  return ctx;
}

const runScenario = (ctx: LaneContext, scenario: Scenario) => runLane(scenario, ctx, tally, OPTIONS);

function expectConsistent(commands: string[]): void {
  const bad = tally.records.filter((r) => commands.includes(r.command) && r.problems.length);
  const ran = tally.records.filter((r) => commands.includes(r.command)).length;
  // TIDEMARK_FAULT_ONLY and TIDEMARK_FAULT_REPLAY may leave a lane nothing to run.
  if (!env.TIDEMARK_FAULT_ONLY && !env.TIDEMARK_FAULT_REPLAY) expect(ran).toBeGreaterThan(0);
  expect(bad, describeFailures(bad)).toEqual([]);
}

beforeAll(() => {
  console.log(`fault injection: seed ${SEED} (TIDEMARK_FAULT_SEED=${SEED} makes the same choices again)`);
});

afterAll(async () => {
  console.log(tally.table());
  tally.write(path.join(ROOT, 'test-results', 'faults.json'), {
    seed: SEED, budgetSeconds: BUDGET_MS / 1000, trialsPerCommand: env.TIDEMARK_FAULT_TRIALS ?? null,
    only: env.TIDEMARK_FAULT_ONLY ?? null, replay: env.TIDEMARK_FAULT_REPLAY ?? null,
  });
  for (const cleanup of cleanups.splice(0)) await cleanup();
  await Promise.all(lanes.map(async (l) => {
    await l.proxy.close();
    await l.server.stop();
    await rm(l.tmpDir, { recursive: true, force: true });
  }));
});

describe.concurrent('faults injected at random points end in a documented state', () => {
  // Two lanes in one test: vitest runs at most five tests of a file at once (maxConcurrency).
  test('migrate: transactional files, and a no-transaction file', async () => {
    const sets = [['migrate', 'transactional'], ['migrate no-tx', 'noTransaction']] as const;
    await Promise.all(sets.map(async ([command, set]) => {
      const ctx = await lane(command.replace(/\W+/g, '-'), await embeddedBinDir());
      const written = await migrationSets(ctx.server);
      cleanups.push(() => rm(written.root, { recursive: true, force: true }));
      await runScenario(ctx, migrateScenario(command, written[set]));
    }));
    expectConsistent(['migrate', 'migrate no-tx']);
  }, 300_000);

  test('backfill', async () => {
    const ctx = await lane('backfill', await embeddedBinDir());
    const fixture = await backfillFixture(ctx.server);
    cleanups.push(() => rm(fixture.dir, { recursive: true, force: true }));
    await runScenario(ctx, backfillScenario(fixture));
    expectConsistent(['backfill']);
  }, 300_000);

  test('backup', async () => {
    const binDir = provided('pgToolsBinDir');
    const ctx = await lane('backup', binDir);
    const base = await mkdtemp(path.join(tmpdir(), 'faults-backups-'));
    const disk = await mountSmallDisk(base);
    cleanups.push(() => disk?.unmount(), () => rm(base, { recursive: true, force: true }));
    const source = await sourceDatabase(ctx.server);
    await runScenario(ctx, backupScenario({ source, binDir, base, tmpfs: disk?.dir }));
    expectConsistent(['backup']);
  }, 300_000);

  test.each([
    ['restore --new', restoreNewScenario],
    ['restore --clean', restoreCleanScenario],
  ] as const)('%s', async (command, scenario) => {
    const binDir = provided('pgToolsBinDir');
    const ctx = await lane(command.replace(/\W+/g, '-'), binDir);
    const fixture = await restoreFixture(ctx, binDir, await sourceDatabase(ctx.server));
    cleanups.push(() => rm(fixture.dir, { recursive: true, force: true }));
    await runScenario(ctx, scenario(fixture));
    expectConsistent([command]);
  }, 300_000);
});

describe('the harness reads the commands\' words as they are written', () => {
  test('claims about the version, clean or dirty', () => {
    const failed = 'hint: nothing was changed: the transaction was rolled back and the database is still at version 6, not dirty';
    const dirty = 'hint: the database is now dirty at version 3: nothing after the failed statement ran. Repair the schema by hand, then mark the real state with `task migrate:force -- 2` (before this migration) or `-- 3` (after it)';
    expect(claimedStates(failed)).toEqual([{ version: '6', dirty: false, words: 'still at version 6' }]);
    expect(claimedStates(dirty)).toEqual([{ version: '3', dirty: true, words: 'dirty at version 3' }]);
  });

  test('how many statements of a no-transaction file ran', () => {
    expect(statementsSaidToRun('statement 3 of 4: canceled\nstatements 1-2 of 4 ran and stay applied', 4)).toBe(2);
    expect(statementsSaidToRun('statement 2 of 4: canceled\nstatement 1 of 4 ran and stays applied', 4)).toBe(1);
    expect(statementsSaidToRun('was cancelled: no statement of 4 ran to completion', 4)).toBe(0);
    expect(statementsSaidToRun('lost: reset\nstatements 1-4 of 4 ran and stay applied', 4)).toBe(4);
    expect(statementsSaidToRun('the file ran; recording it failed', 4)).toBe(4);
    expect(statementsSaidToRun('hint: the database is dirty at version 3: it runs outside a transaction and stopped part-way', 4)).toBeUndefined();
    expect(statementsSaidToRun('connection lost', 4)).toBeUndefined();
  });

  test('the error code, not the line a first signal prints', () => {
    const stderr = 'SIGTERM: cancelling the migration on the server (send it again to exit at once)\nINTERRUPTED: interrupted by SIGTERM\n  operation: apply migration 4';
    expect(errorCode(stderr)).toBe('INTERRUPTED');
    expect(errorCode('SIGINT: stopping after the batch in flight (send it again to exit at once)\n')).toBeUndefined();
  });

  test('the same seed makes the same choices', () => {
    const draw = (seed: number) => { const r = rng(seed); return [r.int(0, 1000), r.pick(['a', 'b', 'c']), r.next()]; };
    expect(draw(trialSeed(7, 'migrate', 3))).toEqual(draw(trialSeed(7, 'migrate', 3)));
    expect(draw(trialSeed(7, 'migrate', 3))).not.toEqual(draw(trialSeed(7, 'migrate', 4)));
  });
});
