/**
 * The fleet part of the commands that run on many targets: their flags, and
 * the hand-off when --targets or --targets-sql is given. The command's own
 * flags become its FleetCommand; everything else is shared here.
 */
import type { CAC } from 'cac';
import type { ConfigInput } from '../../src/config.js';
import { interruptedError } from '../../src/errors.js';
import type { FleetCommand } from '../../src/fleet/commands.js';
import { fleetFailedError, type FleetReport } from '../../src/fleet/report.js';
import { runFleet } from '../../src/fleet/run.js';
import { loadTargets, type TargetSource } from '../../src/fleet/sources.js';
import { intOption, rawValues, usageError, type CommandRun, type Options } from './cli.js';
import { fleetProgress, printFleetReport } from './format/fleet.js';
import { interruptOnSignals } from './signals.js';

const FLEET_FLAGS = ['--parallel', '--max-connections', '--on-error', '--canary', '--report', '--resume'];

export function withFleetOptions(cli: CAC): CAC {
  return cli
    .option('--targets <file>', 'run on every target of this file: one database URL a line (`?search_path=` for a tenant schema), `#` comments, ${VAR} from the environment')
    .option('--targets-sql <query>', 'run on every target this query returns, run against DATABASE_URL: a url column, or a schema column (schemas of its database)')
    .option('--parallel <n>', 'with --targets: targets at a time (default 4)')
    .option('--max-connections <n>', 'with --targets: the most connections held at once over all targets (default 20)')
    .option('--on-error <mode>', 'with --targets: stop (default: no new target starts after a failure) or continue')
    .option('--canary <k>', 'with --targets: run the first K targets one at a time first, and stop if one fails')
    .option('--report <file>', 'with --targets: write the report as JSON to this file, kept current while the run goes on')
    .option('--resume <file>', 'with --targets: run only the targets that this earlier report does not list as done');
}

/** The targets' source, when the command is to run on a fleet; fleet flags without one are a usage error. */
export function fleetSource(argv = process.argv.slice(2)): TargetSource | undefined {
  const [file, sql] = [rawValues('--targets', argv).at(-1), rawValues('--targets-sql', argv).at(-1)];
  if (file !== undefined && sql !== undefined) throw usageError('read the command line', 'give --targets FILE or --targets-sql QUERY, not both');
  if (file === '' || sql === '') throw usageError('read the command line', `${file === '' ? '--targets' : '--targets-sql'} needs a value`);
  if (file !== undefined) return { file };
  if (sql !== undefined) return { sql };
  const stray = FLEET_FLAGS.find((flag) => rawValues(flag, argv).length);
  if (stray) throw usageError(`read ${stray}`, `${stray} applies to a fleet run`, 'add --targets FILE or --targets-sql QUERY');
  return undefined;
}

function onErrorOption(argv: string[]): 'stop' | 'continue' {
  const value = rawValues('--on-error', argv).at(-1) ?? 'stop';
  if (value !== 'stop' && value !== 'continue') throw usageError('read --on-error', `"${value}" is not stop or continue`);
  return value;
}

export interface FleetRun {
  command: FleetCommand;
  /** The command's own settings input (lint, ddl lock timeout...). */
  extra?: ConfigInput;
  /** An exit code the command sets on a finished run (migrate:status --exit-code), if any. */
  exitCode?: (report: FleetReport) => number | undefined;
}

/**
 * Runs the command on every target: progress while it runs, the report at
 * the end (text or --json, and --report FILE), exit 0 when every target is
 * done, FLEET_FAILED (1) otherwise, INTERRUPTED (130/143) after a signal.
 */
export async function runFleetCommand({ out, settingsWithoutDatabase }: CommandRun, options: Options, source: TargetSource, run: FleetRun): Promise<number | void> {
  const argv = process.argv.slice(2);
  const fleetOptions = {
    parallel: intOption(options.parallel, '--parallel', 1),
    maxConnections: intOption(options.maxConnections, '--max-connections', 1),
    canary: intOption(options.canary, '--canary', 0),
    onError: onErrorOption(argv),
    reportFile: rawValues('--report', argv).at(-1),
    resume: rawValues('--resume', argv).at(-1),
  };
  const settings = settingsWithoutDatabase(options, run.extra);
  const { targets, secrets } = await loadTargets(settings, source);
  out.hide(secrets);
  const interrupts = interruptOnSignals(out, { stopping: 'no new target starts; cancelling the running ones on the server' });
  const running = new Set<string>();
  interrupts.onSecond(() => stillRunning(running, fleetOptions.reportFile));
  const progress = options.json ? undefined : fleetProgress(out, run.command.name, !!process.stdout.isTTY);
  const report = await runFleet(settings, targets, run.command, {
    ...fleetOptions, secrets, signal: interrupts.signal,
    onEvent: (event) => {
      if (event.type === 'started') running.add(event.target.name);
      if (event.type === 'finished') running.delete(event.target.name);
      progress?.onEvent(event);
    },
  });
  progress?.clear();
  if (options.json) out.json(report);
  else printFleetReport(out, report);
  if (report.signal) throw interruptedError(report.signal, `${run.command.name} on ${report.counts.total} targets`, interruptedState(report));
  if (!report.ok) throw fleetFailedError(report);
  return run.exitCode?.(report);
}

/** What a second signal says: the targets it leaves running, each as the single command leaves it when killed. */
function stillRunning(running: Set<string>, reportFile: string | undefined): string | undefined {
  if (!running.size) return undefined;
  const resume = reportFile ? `; ${reportFile} lists them as running, and --resume runs them again` : '';
  return `${running.size} target(s) were running (${[...running].join(', ')}): each is left as the single command leaves it when killed${resume}`;
}

function interruptedState(report: FleetReport): string {
  const c = report.counts;
  const parts = [`${c.done + c.skipped} done`, c.failed && `${c.failed} failed`, `${c.interrupted} cancelled (each as the single command leaves it)`, `${c.notStarted} not started`];
  return `${parts.filter(Boolean).join(', ')}; --resume with the report runs what is left`;
}
