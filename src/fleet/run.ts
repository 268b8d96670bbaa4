/**
 * A fleet run: one command over many targets, with a report that says where
 * each target stands. Targets that a resumed report lists as done are left
 * alone; the rest go through the scheduler; the --report file is rewritten
 * as targets start and end.
 */
import type { SettingsWithoutDatabase } from '../config.js';
import { maskSecrets } from '../connection-string.js';
import { TidemarkError, abortSignalName } from '../errors.js';
import { targetSettings, type FleetCommand } from './commands.js';
import { countStates, FINISHED_STATES, targetError, type FleetReport, type TargetResult } from './report.js';
import { needsRun, readPreviousRun, reportWriter, type PreviousRun } from './report-file.js';
import { schedule, type OnError, type TargetControl } from './scheduler.js';
import type { FleetTarget } from './targets.js';

export const DEFAULT_PARALLEL = 4;
/** Well under PostgreSQL's default max_connections (100), leaving room for the application. */
export const DEFAULT_MAX_CONNECTIONS = 20;

export interface FleetOptions {
  /** Targets at a time (default 4). */
  parallel?: number;
  /** The most connections the run holds at once, over all targets (default 20). */
  maxConnections?: number;
  /** After a failure: start no new target (`stop`, the default) or go on (`continue`). */
  onError?: OnError;
  /** Run the first K targets one at a time before the others; a failure among them stops the run. */
  canary?: number;
  /** A previous report (a path, relative to cwd): only the targets it does not list as done run. */
  resume?: string;
  /** Write the report here (relative to cwd), also while the run goes on. */
  reportFile?: string;
  /** Texts to mask in the report file (the targets' passwords). */
  secrets?: string[];
  /** SIGINT/SIGTERM (reason: the signal's name): running targets are cancelled, none starts. */
  signal?: AbortSignal;
  onEvent?: (event: FleetEvent) => void;
}

export type FleetEvent =
  | { type: 'plan'; total: number; toRun: number; parallel: number }
  | { type: 'started'; target: FleetTarget; index: number }
  | { type: 'finished'; target: FleetTarget; index: number; result: TargetResult };

function usage(operation: string, cause: string, hint?: string): TidemarkError {
  return new TidemarkError('INVALID_ARGUMENT', 'invalid fleet options', { operation, cause, hint });
}

/** Targets at a time: --parallel, lowered so that they never hold more than the connection cap. */
export function effectiveParallel(command: FleetCommand, parallel: number, maxConnections: number): number {
  if (!Number.isInteger(parallel) || parallel < 1) throw usage('read --parallel', `${parallel} is not a whole number of at least 1`);
  if (!Number.isInteger(maxConnections) || maxConnections < command.connectionsPerTarget) {
    throw usage('read --max-connections', `${maxConnections} is below the ${command.connectionsPerTarget} connections one target of ${command.name} may hold`);
  }
  return Math.min(parallel, Math.floor(maxConnections / command.connectionsPerTarget));
}

/** The outcome of one target's run, never an exception. */
async function runTarget(settings: SettingsWithoutDatabase, command: FleetCommand, target: FleetTarget, control: TargetControl): Promise<TargetResult> {
  const started = performance.now();
  const startedAt = new Date();
  const base = { target: target.key, name: target.name };
  const took = () => ({ startedAt, durationMs: Math.round((performance.now() - started) * 10) / 10 });
  try {
    const { error, ...outcome } = await command.run(targetSettings(settings, target), target, control);
    return { ...base, state: error ? 'failed' : 'done', ...outcome, ...(error && { error }), ...took() };
  } catch (err) {
    if (err instanceof TidemarkError && err.code === 'INTERRUPTED') {
      const note = (err.reason ?? err.message).replace(/^interrupted: /, '');
      if (control.signal.aborted) return { ...base, state: 'interrupted', note, error: targetError(err), ...took() };
      if (control.stop.aborted) return { ...base, state: 'stopped', note: `stopped after another target failed: ${note}`, ...took() };
    }
    return { ...base, state: 'failed', error: targetError(err), ...took() };
  }
}

function initialResults(targets: FleetTarget[], previous: PreviousRun | undefined): TargetResult[] {
  return targets.map((t) => (previous && !needsRun(previous, t.key)
    ? { target: t.key, name: t.name, state: 'skipped', note: `done in ${previous.file}` }
    : { target: t.key, name: t.name, state: 'not-started' }));
}

/** What is settled before the first target starts. */
interface Plan {
  parallel: number;
  maxConnections: number;
  canary: number;
  onError: OnError;
  previous?: PreviousRun;
  /** The given secrets and the targets' own passwords, however the list was made. */
  secrets: string[];
}

async function planRun(settings: SettingsWithoutDatabase, targets: FleetTarget[], command: FleetCommand, options: FleetOptions): Promise<Plan> {
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const parallel = effectiveParallel(command, options.parallel ?? DEFAULT_PARALLEL, maxConnections);
  const canary = options.canary ?? 0;
  if (!Number.isInteger(canary) || canary < 0) throw usage('read --canary', `${canary} is not a whole number of at least 0`);
  command.check?.(settings, targets);
  const previous = options.resume === undefined ? undefined : await readPreviousRun(settings.cwd, options.resume, command.name);
  await command.prepare?.(settings);
  const passwords = targets.flatMap((t) => (t.database.password ? [t.database.password] : []));
  return { parallel, maxConnections, canary, onError: options.onError ?? 'stop', previous, secrets: [...(options.secrets ?? []), ...passwords] };
}

/** The report as it stands: the results so far, and the run's settings. */
function reportOf(command: FleetCommand, plan: Plan, results: TargetResult[], started: { at: Date; clock: number }, signal?: AbortSignal): FleetReport {
  const name = abortSignalName(signal);
  const counts = countStates(results);
  return {
    command: command.name, startedAt: started.at, durationMs: Math.round(performance.now() - started.clock),
    parallel: plan.parallel, maxConnections: plan.maxConnections, onError: plan.onError, canary: plan.canary,
    ...(plan.previous && { resumedFrom: plan.previous.file }), ...(name && { signal: name as 'SIGINT' | 'SIGTERM' }),
    ok: counts.done + counts.skipped === counts.total, counts, targets: results,
  };
}

/** Runs `command` on every target (see FleetOptions); resolves with the report whatever the targets did. */
export async function runFleet(
  settings: SettingsWithoutDatabase, targets: FleetTarget[], command: FleetCommand, options: FleetOptions = {},
): Promise<FleetReport> {
  const plan = await planRun(settings, targets, command, options);
  const started = { at: new Date(), clock: performance.now() };
  const results = initialResults(targets, plan.previous);
  const toRun = targets.map((_, i) => i).filter((i) => !FINISHED_STATES.has(results[i].state));
  const writer = options.reportFile === undefined ? undefined : reportWriter(settings.cwd, options.reportFile, plan.secrets);
  const report = () => reportOf(command, plan, results, started, options.signal);
  const record = (index: number, result: TargetResult) => {
    results[index] = result;
    writer?.update(report());
  };
  // Written once before any target starts: a report that cannot be written stops the run before it changes anything.
  await writer?.finish(report());
  options.onEvent?.({ type: 'plan', total: targets.length, toRun: toRun.length, parallel: plan.parallel });
  const outcome = await schedule(toRun.length, async (n, control) => {
    const index = toRun[n];
    record(index, { ...results[index], state: 'running' });
    options.onEvent?.({ type: 'started', target: targets[index], index });
    const result = masked(await runTarget(settings, command, targets[index], control), plan.secrets);
    record(index, result);
    options.onEvent?.({ type: 'finished', target: targets[index], index, result });
    return { failed: result.state === 'failed' };
  }, { ...plan, signal: options.signal });
  for (const i of toRun) {
    if (outcome.haltedBy && results[i].state === 'not-started') results[i] = { ...results[i], note: `not started: ${outcome.haltedBy}` };
  }
  const final = report();
  await writer?.finish(final);
  return final;
}

/** A target's result with every secret masked: an error's cause may quote a URL. */
function masked(result: TargetResult, secrets: string[]): TargetResult {
  if (!secrets.length || (!result.error && !result.note)) return result;
  const mask = (text: string) => maskSecrets(text, secrets);
  const { error, note } = result;
  return {
    ...result,
    ...(error && { error: { ...error, message: mask(error.message), operation: mask(error.operation), ...(error.cause !== undefined && { cause: mask(error.cause) }) } }),
    ...(note !== undefined && { note: mask(note) }),
  };
}
