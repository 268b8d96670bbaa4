/**
 * A lane: one command's trials, one after another, on a private server of
 * its own (a restart must not hit another lane's trial), until the time
 * budget is used and every fault kind ran at least the minimum number of
 * times. Faults rotate in a seeded order; each trial gets a seed of its own.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FaultProxy } from './proxy.js';
import type { Tally, TrialRecord } from './report.js';
import { rng, trialSeed, type Rng } from './rng.js';
import type { PrivateServer } from './server.js';
import { MARKER, randomPause, tempLeftovers, type FaultKind, type Reached, type RunningCli } from './trial.js';

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
    const problems = [`the trial itself failed: ${(err as Error).stack ?? err}`];
    tally.add({ ...base, point: '?', outcome: 'trial error', exit: '?', problems, durationMs: Date.now() - t0 });
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

export async function runLane(scenario: Scenario, ctx: LaneContext, tally: Tally, options: LaneOptions): Promise<void> {
  if (options.replay !== undefined) {
    const [command, fault, seed] = options.replay.split('/');
    if (command === scenario.command) await runTrial(scenario, ctx, tally, fault as FaultKind, Number(seed));
    return;
  }
  const chosen = (f: FaultKind) => options.only!.some((o) => o === f || o === `${scenario.command}/${f}` || o === scenario.command);
  const faults = options.only?.length ? scenario.faults.filter(chosen) : scenario.faults;
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

/** Passfiles and temporary directories left in the lane's TMPDIR, as problems; removed, so that each is reported once. */
export async function leftoverProblems(ctx: LaneContext, when = ''): Promise<string[]> {
  const left = tempLeftovers(ctx.tmpDir);
  await Promise.all(left.map((f) => rm(path.join(ctx.tmpDir, f), { recursive: true, force: true })));
  return left.length ? [`left in TMPDIR${when}: ${left.join(', ')}`] : [];
}
