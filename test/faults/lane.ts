/**
 * A lane: one command's trials, one after another, on a private server of
 * its own (a restart must not hit another lane's trial), until the time
 * budget is used and every fault kind ran at least the minimum number of
 * times. Faults rotate in a seeded order; each trial gets a seed of its own.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { findChild, sendSignal, type ChildKind } from './inject.js';
import type { FaultProxy } from './proxy.js';
import type { Tally, TrialRecord } from './report.js';
import { rng, trialSeed, type Rng } from './rng.js';
import type { PrivateServer } from './server.js';
import { MARKER, randomPause, tempLeftovers, until, type FaultKind, type Reached, type RunningCli } from './trial.js';

/** Where a fault goes: `early` for a random delay after the start (the command may still be starting). */
export interface Point {
  label: string;
  early?: boolean;
  wait(run: RunningCli): Promise<Reached>;
}

/** A random delay after the start as the point. */
export function delayPoint(ms: number): Point {
  return { label: `${ms} ms after start`, early: true, wait: async (run) => (await randomPause(ms), run.exited ? 'exited' : 'reached') };
}

export interface LaneContext {
  server: PrivateServer;
  proxy: FaultProxy;
  /** The commands' TMPDIR: passfiles and temporary directories left behind show up here, and only the lane's own. */
  tmpDir: string;
}

export interface Scenario {
  command: string;
  faults: FaultKind[];
  trial(ctx: LaneContext, fault: FaultKind, r: Rng, seed: number): Promise<Omit<TrialRecord, 'command' | 'fault' | 'seed' | 'durationMs'>>;
}

export interface LaneOptions {
  suiteSeed: number;
  budgetMs: number;
  minPerFault: number;
  /** A fixed number of trials instead of the time budget. */
  trials?: number;
  /** Only these faults (TIDEMARK_FAULT_ONLY). */
  only?: string[];
  /** One trial again, as `command/fault/seed` (TIDEMARK_FAULT_REPLAY, printed with each failure). */
  replay?: string;
}

async function runTrial(scenario: Scenario, ctx: LaneContext, tally: Tally, fault: FaultKind, seed: number): Promise<void> {
  const t0 = Date.now();
  const base = { command: scenario.command, fault, seed };
  try {
    tally.add({ ...base, ...(await scenario.trial(ctx, fault, rng(seed), seed)), durationMs: Date.now() - t0 });
  } catch (err) {
    tally.add({ ...base, point: '?', outcome: 'trial error', exit: '?', problems: [`the trial itself failed: ${(err as Error).stack ?? err}`], durationMs: Date.now() - t0 });
  }
}

export async function laneContext(server: PrivateServer, proxy: FaultProxy, label: string): Promise<LaneContext> {
  return { server, proxy, tmpDir: await mkdtemp(path.join(tmpdir(), `faults-tmp-${label}-`)) };
}

/** The environment of a command in a trial: the database through the proxy, a short connect timeout, the lane's TMPDIR, the trial's marker. */
export function trialEnv(ctx: LaneContext, database: string, marker: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: ctx.server.url(database, ctx.proxy.port),
    TIDEMARK_CONNECT_TIMEOUT: '2s',
    TMPDIR: ctx.tmpDir,
    [MARKER]: marker,
    ...extra,
  };
}

const CHILD_OF: Partial<Record<FaultKind, ChildKind>> = {
  'kill-pg_dump': 'pg_dump', 'kill-verifier': 'verifier', 'kill-pg_restore': 'pg_restore', 'kill-psql': 'psql',
};

/** For a child fault the point is the child's existence, then a random moment of its life. */
export async function childPoint(run: RunningCli, fault: FaultKind, r: Rng): Promise<Reached> {
  const kind = CHILD_OF[fault]!;
  const reached = await until(() => !!findChild(run.pid, kind), run);
  if (reached === 'reached') await randomPause(r.int(0, 150));
  return reached;
}

/** Delivers the fault (the point already reached); says what it did. */
export async function inject(ctx: LaneContext, run: RunningCli, fault: FaultKind, r: Rng): Promise<string> {
  if (fault === 'SIGINT' || fault === 'SIGTERM' || fault === 'SIGKILL') return sendSignal(run.pid, fault) ? fault : 'command gone first';
  const kind = CHILD_OF[fault];
  if (kind) {
    const child = findChild(run.pid, kind);
    return child && sendSignal(child.pid, 'SIGKILL') ? `SIGKILL ${kind} ${child.pid}` : `${kind} gone first`;
  }
  if (fault === 'restart-fast') await ctx.server.restart('fast');
  else if (fault === 'restart-immediate') await ctx.server.restart('immediate');
  else if (fault === 'cut') ctx.proxy.cut();
  else if (fault === 'stall-then-cut') {
    ctx.proxy.stall();
    const stallMs = r.int(100, 3000);
    await randomPause(stallMs);
    ctx.proxy.cut();
    return `stall ${stallMs} ms, then cut`;
  }
  return fault;
}

export async function runLane(scenario: Scenario, ctx: LaneContext, tally: Tally, options: LaneOptions): Promise<void> {
  if (options.replay !== undefined) {
    const [command, fault, seed] = options.replay.split('/');
    if (command === scenario.command) await runTrial(scenario, ctx, tally, fault as FaultKind, Number(seed));
    return;
  }
  const faults = scenario.faults.filter((f) => !options.only?.length || options.only.some((o) => o === f || o === `${scenario.command}/${f}` || o === scenario.command));
  if (!faults.length) return;
  const order = rng(trialSeed(options.suiteSeed, scenario.command, -1));
  const started = Date.now();
  const runs = new Map<FaultKind, number>();
  const minimumMet = () => faults.every((f) => (runs.get(f) ?? 0) >= options.minPerFault);
  let round: FaultKind[] = [];
  for (let i = 0; ; i++) {
    // Past the budget, trials go on only until each fault ran its minimum; past twice the budget (a machine far busier than usual) not even that.
    const elapsed = Date.now() - started;
    const enough = options.trials !== undefined ? i >= options.trials
      : elapsed > options.budgetMs && (minimumMet() || elapsed > 2 * options.budgetMs);
    if (enough) break;
    if (!round.length) round = [...faults].sort(() => order.next() - 0.5);
    // Once the budget is used, only the faults still short of their minimum.
    const fault = elapsed > options.budgetMs ? faults.find((f) => (runs.get(f) ?? 0) < options.minPerFault)! : round.shift()!;
    runs.set(fault, (runs.get(fault) ?? 0) + 1);
    await runTrial(scenario, ctx, tally, fault, trialSeed(options.suiteSeed, scenario.command, i));
  }
}

const WATCHER = 'faults-watch';

/** A connection for polling the server (pg_stat_activity) that reconnects after a restart. */
export function poller(ctx: LaneContext, database = 'postgres'): { query(sql: string, values?: unknown[]): Promise<any[]>; close(): Promise<void> } {
  let client: pg.Client | undefined;
  const drop = () => {
    client?.end().catch(() => undefined);
    client = undefined;
  };
  return {
    async query(sql, values) {
      try {
        if (!client) {
          client = new pg.Client({ connectionString: ctx.server.url(database), application_name: WATCHER });
          client.on('error', drop);
          await client.connect();
        }
        return (await client.query(sql, values)).rows;
      } catch {
        drop();
        return [];
      }
    },
    async close() {
      const open = client;
      client = undefined;
      await open?.end().catch(() => undefined);
    },
  };
}

/**
 * Waits (with a bound) until no session of the command is left on the
 * server (the lane's own: every client session but the test's is the
 * command's): after a killed command, the server runs the statement in
 * flight to its end (a migration's COMMIT, a CREATE DATABASE) before it
 * notices the client is gone. The end state is read after that.
 */
export async function sessionsEnded(ctx: LaneContext): Promise<string | undefined> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const rows = await ctx.server.query(`SELECT pid, datname, state, left(query, 60) AS q FROM pg_stat_activity
      WHERE pid <> pg_backend_pid() AND backend_type = 'client backend' AND application_name <> $1`, [WATCHER]).catch(() => undefined);
    if (rows && !rows.length) return undefined;
    if (Date.now() > deadline) return `sessions of the command still on the server 20 s after it ended: ${JSON.stringify(rows)}`;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Passfiles and temporary directories left in the lane's TMPDIR, as problems; removed, so that each is reported once. */
export async function leftoverProblems(ctx: LaneContext, when = ''): Promise<string[]> {
  const left = tempLeftovers(ctx.tmpDir);
  await Promise.all(left.map((f) => rm(path.join(ctx.tmpDir, f), { recursive: true, force: true })));
  return left.length ? [`left in TMPDIR${when}: ${left.join(', ')}`] : [];
}
