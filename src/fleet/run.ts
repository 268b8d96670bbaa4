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
import { needsRun, readPreviousRun, reportWriter, type PreviousRun, type ReportWriter } from './report-file.js';
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

/** Runs `command` on every target (see FleetOptions); resolves with the report whatever the targets did. */
export async function runFleet(settings: SettingsWithoutDatabase, targets: FleetTarget[], command: FleetCommand, options: FleetOptions = {}): Promise<FleetReport> {
  const parallel = effectiveParallel(command, options.parallel ?? DEFAULT_PARALLEL, options.maxConnections ?? DEFAULT_MAX_CONNECTIONS);
  const canary = options.canary ?? 0;
  if (!Number.isInteger(canary) || canary < 0) throw usage('read --canary', `${canary} is not a whole number of at least 0`);
  command.check?.(settings, targets);
  const previous = options.resume === undefined ? undefined : await readPreviousRun(settings.cwd, options.resume, command.name);
  await command.prepare?.(settings);
  const startedAt = new Date();
  const clock = performance.now();
  const results = initialResults(targets, previous);
  const toRun = targets.map((_, i) => i).filter((i) => !FINISHED_STATES.has(results[i].state));
  // The targets' own passwords are masked too, however the list was made.
  const secrets = [...(options.secrets ?? []), ...targets.flatMap((t) => (t.database.password ? [t.database.password] : []))];
  const writer: ReportWriter | undefined = options.reportFile === undefined ? undefined : reportWriter(settings.cwd, options.reportFile, secrets);
  const report = (): FleetReport => {
    const signal = abortSignalName(options.signal);
    const counts = countStates(results);
    return {
      command: command.name, startedAt, durationMs: Math.round(performance.now() - clock), parallel, maxConnections: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      onError: options.onError ?? 'stop', canary, ...(previous && { resumedFrom: previous.file }),
      ...(signal && { signal: signal as 'SIGINT' | 'SIGTERM' }), ok: counts.done + counts.skipped === counts.total, counts, targets: results,
    };
  };
  writer?.update(report());
  options.onEvent?.({ type: 'plan', total: targets.length, toRun: toRun.length, parallel });
  const outcome = await schedule(toRun.length, async (n, control) => {
    const index = toRun[n];
    results[index] = { ...results[index], state: 'running' };
    writer?.update(report());
    options.onEvent?.({ type: 'started', target: targets[index], index });
    const result = masked(await runTarget(settings, command, targets[index], control), secrets);
    results[index] = result;
    writer?.update(report());
    options.onEvent?.({ type: 'finished', target: targets[index], index, result });
    return { failed: result.state === 'failed' };
  }, { parallel, onError: options.onError ?? 'stop', canary, signal: options.signal });
  if (outcome.haltedBy) {
    for (const i of toRun) if (results[i].state === 'not-started') results[i] = { ...results[i], note: `not started: ${outcome.haltedBy}` };
  }
  const final = report();
  await writer?.finish(final);
  return final;
}

/** A target's result with every secret masked: an error's cause may quote a URL. */
function masked(result: TargetResult, secrets: string[]): TargetResult {
  if (!secrets.length || (!result.error && !result.note)) return result;
  const mask = (text: string | undefined) => (text === undefined ? undefined : maskSecrets(text, secrets));
  const error = result.error && { ...result.error, message: mask(result.error.message)!, operation: mask(result.error.operation)!, cause: mask(result.error.cause) };
  return { ...result, ...(error && { error }), ...(result.note !== undefined && { note: mask(result.note) }) };
}
