/**
 * The --report file: rewritten (to a temporary file, then renamed) each time
 * a target starts or ends, so that a run killed outright still leaves a
 * report that --resume can finish from. --resume reads it back.
 */
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { maskSecrets } from '../connection-string.js';
import { TidemarkError } from '../errors.js';
import { FINISHED_STATES, type FleetCommandName, type FleetReport, type TargetState } from './report.js';

const MARK = '@@tidemark-bigint@@';

/** JSON with bigint versions as plain numbers (they may exceed 2^53) and dates as ISO strings, as the CLI's --json. */
export function reportJson(report: FleetReport): string {
  const text = JSON.stringify(report, (_key, v) => (typeof v === 'bigint' ? `${MARK}${v}` : v), 2);
  return text.replace(new RegExp(`"${MARK}(-?\\d+)"`, 'g'), '$1');
}

export interface ReportWriter {
  /** Schedules a rewrite with this report; rewrites never overlap, the latest report wins. */
  update(report: FleetReport): void;
  /** Writes this report now and waits for it (the first and the final one); FLEET_FAILED when it cannot. */
  finish(report: FleetReport): Promise<void>;
}

/** A writer of `file` (relative to cwd) that masks every secret of the fleet. */
export function reportWriter(cwd: string, file: string, secrets: string[]): ReportWriter {
  const target = path.resolve(cwd, file);
  const temporary = `${target}.tmp-${process.pid}`;
  let latest: FleetReport | undefined;
  let writing: Promise<void> = Promise.resolve();
  let pending = false;
  const writeLatest = async () => {
    pending = false;
    await writeFile(temporary, `${maskSecrets(reportJson(latest!), secrets)}\n`);
    await rename(temporary, target);
  };
  const schedule = () => {
    if (pending) return writing;
    pending = true;
    writing = writing.then(writeLatest, writeLatest);
    return writing;
  };
  return {
    update(report) {
      latest = report;
      // A failing intermediate write is retried by the next; the final one reports its own failure.
      schedule().catch(() => undefined);
    },
    async finish(report) {
      latest = report;
      try {
        await schedule();
      } catch (err) {
        await rm(temporary, { force: true });
        throw new TidemarkError('FLEET_FAILED', 'cannot write the fleet report', { operation: `write ${file}`, cause: (err as Error).message }, { cause: err });
      }
    },
  };
}

function resumeError(file: string, cause: string): TidemarkError {
  return new TidemarkError('FLEET_RESUME_INVALID', 'cannot resume from this report', {
    operation: `read ${file}`, cause, hint: 'give the file a fleet run wrote with --report (or --json) for the same command',
  });
}

/** What --resume needs from a previous report: each target's state, by its key. */
export interface PreviousRun {
  file: string;
  states: Map<string, TargetState>;
}

/** Reads a previous report of the same command. */
export async function readPreviousRun(cwd: string, file: string, command: FleetCommandName): Promise<PreviousRun> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path.resolve(cwd, file), 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw resumeError(file, code === 'ENOENT' ? 'the file does not exist' : err instanceof SyntaxError ? `not JSON: ${err.message}` : (err as Error).message);
  }
  const report = parsed as Partial<FleetReport> | null;
  if (!report || typeof report !== 'object' || !Array.isArray(report.targets) || typeof report.command !== 'string') {
    throw resumeError(file, 'not a fleet report (no command and targets)');
  }
  if (report.command !== command) throw resumeError(file, `it is a report of ${report.command}, not of ${command}`);
  const states = new Map<string, TargetState>();
  for (const t of report.targets) {
    if (typeof t?.target !== 'string' || typeof t.state !== 'string') throw resumeError(file, 'a target without its URL or state');
    states.set(t.target, t.state);
  }
  return { file, states };
}

/** Whether --resume runs the target: anything not finished in the previous run, and any target it did not list. */
export function needsRun(previous: PreviousRun, key: string): boolean {
  const state = previous.states.get(key);
  return state === undefined || !FINISHED_STATES.has(state);
}
