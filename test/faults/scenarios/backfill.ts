/**
 * backfill under faults: what the checkpoint says is done is done (and
 * nothing past it), a stopped run is recorded `stopped`, a killed one
 * becomes `interrupted` at the next run, which resumes at the checkpoint
 * and completes.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { withClient } from '../fingerprint.js';
import { inject } from '../deliver.js';
import { delayPoint, leftoverProblems, trialEnv, type LaneContext, type Point, type Scenario } from '../lane.js';
import { activeQuery, poller, sessionsEnded, type Poller } from '../watch.js';
import type { Rng } from '../rng.js';
import { emptyDatabase, type PrivateServer } from '../server.js';
import { diedAtStartUp, excerpt, exitProblems, exitText, finished, outputProblems, startCli, until, type Exit, type FaultKind } from '../trial.js';

const NAME = 'faultfill';
const ROWS = 4000;
const BATCH = 100;

// Even ids need the change; a short pause in each batch widens the window in which a batch is in flight.
const MODULE = `
export const description = 'Lower-case items.code';
const PENDING = 'code <> lower(code)';
export async function count(ctx) {
  const { rows } = await ctx.client.query(\`SELECT count(*) AS n FROM items WHERE \${PENDING}\`);
  return Number(rows[0].n);
}
export async function batch(ctx, cursor) {
  const { rows } = await ctx.client.query(
    \`WITH ids AS (SELECT id FROM items WHERE \${PENDING} AND ($1::bigint IS NULL OR id > $1) ORDER BY id LIMIT $2),
          changed AS (UPDATE items SET code = lower(items.code) FROM ids WHERE items.id = ids.id RETURNING 1)
     SELECT (SELECT max(id) FROM ids)::text AS next, (SELECT count(*) FROM changed)::int AS rows, pg_sleep(0.004)\`,
    [cursor, ctx.batchSize]);
  return { rows: rows[0].rows, next: rows[0].next };
}
`;

const SEED_SQL = `
CREATE TABLE items (id bigint PRIMARY KEY, code text NOT NULL, other text NOT NULL);
INSERT INTO items SELECT g, CASE WHEN g % 2 = 0 THEN 'CODE-' || g ELSE 'code-' || g END, md5(g::text) FROM generate_series(1, ${ROWS}) g;`;
const DATABASE = 'fb';
const FINAL_MD5 = "SELECT md5(string_agg(id || ':' || code || ':' || other, ',' ORDER BY id)) AS m FROM items";

export interface BackfillFixture {
  dir: string;
  /** md5 of the table once every row is done. */
  finalMd5: string;
}

export async function backfillFixture(server: PrivateServer): Promise<BackfillFixture> {
  const dir = await mkdtemp(path.join(tmpdir(), 'faults-backfills-'));
  await writeFile(path.join(dir, `${NAME}.mjs`), MODULE);
  const db = await emptyDatabase(server, DATABASE);
  await server.query(SEED_SQL, [], db);
  const [{ m }] = await server.query(FINAL_MD5.replace('code ||', 'lower(code) ||'), [], db);
  return { dir, finalMd5: m };
}

interface BackfillState {
  checkpoint?: { cursor: string | null; rowsDone: number };
  /** Even (pending) ids now done. */
  done: number[];
  runs: Array<{ id: number; outcome: string; resumed: string | null; rows: number }>;
}

async function readBackfill(client: pg.Client): Promise<BackfillState> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const done = (await client.query('SELECT id::int FROM items WHERE id % 2 = 0 AND code = lower(code) ORDER BY id')).rows.map((r) => r.id as number);
    const exists = (await client.query("SELECT to_regclass('tidemark_backfill_runs') IS NOT NULL AS e")).rows[0].e;
    if (!exists) return { done, runs: [] };
    const cp = (await client.query(`SELECT cursor #>> '{}' AS c, rows_done::int AS r
      FROM tidemark_backfill_checkpoints WHERE backfill = $1`, [NAME])).rows[0];
    const runs = (await client.query(`SELECT id::int, outcome, resumed_after #>> '{}' AS resumed, row_count::int AS rows
      FROM tidemark_backfill_runs WHERE backfill = $1 ORDER BY id`, [NAME])).rows;
    return { done, runs, ...(cp && { checkpoint: { cursor: cp.c, rowsDone: cp.r } }) };
  } finally {
    await client.query('ROLLBACK');
  }
}

const pendingIds = Array.from({ length: ROWS / 2 }, (_, i) => 2 * (i + 1));

/** The checkpoint and the rows agree: exactly the pending rows up to the cursor are done. */
function agreementProblems(state: BackfillState): string[] {
  const cp = state.checkpoint;
  const lastRun = state.runs.at(-1);
  if (!cp) {
    if (state.done.length === pendingIds.length && lastRun?.outcome === 'completed') return [];
    if (!state.done.length && !state.runs.some((r) => r.outcome === 'completed')) return [];
    return [`no checkpoint, ${state.done.length} of ${pendingIds.length} rows done, last run ${lastRun?.outcome ?? 'none'}`];
  }
  const upTo = cp.cursor === null ? 0 : Number(cp.cursor);
  const expected = pendingIds.filter((id) => id <= upTo);
  const problems: string[] = [];
  if (state.done.length !== expected.length || state.done.some((id, i) => id !== expected[i])) {
    problems.push(`checkpoint at ${cp.cursor} (${expected.length} rows) but ${state.done.length} rows are done (first ${state.done[0]}, last ${state.done.at(-1)})`);
  }
  if (cp.rowsDone !== state.done.length) problems.push(`checkpoint counts ${cp.rowsDone} rows done, ${state.done.length} are`);
  return problems;
}

/** The faulted run's record: `stopped` after SIGINT/SIGTERM, `failed` or left for the next run to mark `interrupted` otherwise. */
function runRecordProblems(fault: FaultKind, exit: Exit, before: BackfillState, after: BackfillState): string[] {
  if (!before.runs.length) return [];
  const first = after.runs.find((run) => run.id === before.runs[0].id);
  if (!first) return ['the faulted run\'s record vanished'];
  const allowed = exit.code === 0 ? ['completed']
    : exit.code === 130 || exit.code === 143 ? ['stopped']
      : fault === 'SIGKILL' ? ['interrupted', 'completed']
        : ['failed', 'interrupted'];
  const problems = allowed.includes(first.outcome) ? [] : [`the faulted run is recorded ${first.outcome}, expected ${allowed.join(' or ')}`];
  // The faulted run was the pass's first: the rows it is recorded with are the rows done when it ended.
  if (first.outcome !== 'completed' && first.rows !== before.done.length) {
    problems.push(`the faulted run is recorded with ${first.rows} rows, ${before.done.length} are done`);
  }
  const rerun = after.runs.at(-1)!;
  if (before.checkpoint?.cursor && rerun.resumed !== before.checkpoint.cursor) {
    problems.push(`the rerun resumed after ${rerun.resumed}, the checkpoint was at ${before.checkpoint.cursor}`);
  }
  return problems;
}

function choosePoint(db: string, r: Rng, watch: Poller): Point {
  const kind = r.pick(['delay', 'checkpoint', 'batch'] as const);
  if (kind === 'delay') {
    return delayPoint(r.int(0, 600));
  }
  if (kind === 'checkpoint') {
    const rows = r.int(1, ROWS / 2 / BATCH - 1) * BATCH;
    return { label: `checkpoint at ${rows} rows`, wait: (run) => until(async () => (await watch.query(
      `SELECT 1 FROM tidemark_backfill_checkpoints WHERE backfill = '${NAME}' AND rows_done >= ${rows}`, [])).length > 0, run) };
  }
  return { label: 'a batch active in pg_stat_activity', wait: (run) => until(() => activeQuery(watch, db, '%UPDATE items%'), run) };
}

function outcomeOf(exit: Exit, state: BackfillState, startUp: boolean): string {
  if (exit.code === 0) return 'completed before the fault mattered';
  if (startUp && !state.runs.length) return 'killed by the signal at start-up, no run';
  if (!state.runs.length) return 'no run started';
  return `${state.runs[0].outcome}, checkpoint agrees with the rows`;
}

const SIGNALS: FaultKind[] = ['SIGINT', 'SIGTERM', 'SIGKILL'];

export function backfillScenario(fixture: BackfillFixture): Scenario {
  return {
    command: 'backfill',
    faults: [...SIGNALS, ...SIGNALS, 'restart-fast', 'restart-immediate', 'stall-then-cut', 'cut'],
    async trial(ctx: LaneContext, fault, r, seed) {
      const db = await emptyDatabase(ctx.server, DATABASE);
      await ctx.server.query(SEED_SQL, [], db);
      const watch = poller(ctx, db);
      const args = [NAME, '--backfills-dir', fixture.dir, '--batch-size', String(BATCH)];
      const env = trialEnv(ctx, db, `b${seed}`);
      try {
        const point = choosePoint(db, r, watch);
        const run = startCli('backfill', args, env);
        const reached = await point.wait(run);
        const injected = reached === 'reached' ? await inject(ctx, run, fault, r) : `not injected: ${reached} first`;
        const exit = await finished(run);
        await watch.close();
        const lingering = await sessionsEnded(ctx);
        const before = await withClient(ctx.server.url(db), readBackfill);
        const problems = [...outputProblems(exit, ctx.server.password), ...agreementProblems(before)];
        const startUp = diedAtStartUp(fault, exit, point.early ?? false);
        if (!startUp) problems.push(...exitProblems(fault, exit, undefined, false));
        else if (before.runs.length) problems.push(`died of ${fault} without a word, yet a run is recorded: no handler?`);
        if (lingering) problems.push(lingering);
        const rerun = await finished(startCli('backfill', args, env));
        const after = await withClient(ctx.server.url(db), readBackfill);
        if (rerun.code !== 0) problems.push(`the rerun failed: exit ${rerun.code} ${excerpt(rerun.stderr)}`);
        problems.push(...outputProblems(rerun, ctx.server.password).map((p) => `rerun: ${p}`), ...runRecordProblems(fault, exit, before, after));
        if (after.checkpoint || after.runs.at(-1)?.outcome !== 'completed') {
          problems.push(`after the rerun: checkpoint ${JSON.stringify(after.checkpoint)}, last run ${after.runs.at(-1)?.outcome}`);
        }
        const [{ m }] = await ctx.server.query(FINAL_MD5, [], db);
        if (m !== fixture.finalMd5) problems.push('after the rerun the table is not the expected final state');
        problems.push(...(await leftoverProblems(ctx)));
        return { point: `${point.label} (${injected})`, outcome: outcomeOf(exit, before, startUp), exit: exitText(exit), problems };
      } finally {
        await watch.close();
      }
    },
  };
}
