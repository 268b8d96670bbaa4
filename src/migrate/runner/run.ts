import { abortSignalName, interruptedError } from '../../errors.js';
import type { LockHolder } from '../state/lock.js';
import { executeStep, versionLabel, type StepResult } from './execute.js';
import type { LockWait } from './backend-watch.js';
import type { LockRetry } from './ddl-lock.js';
import type { Step } from './plan.js';
import type { Session } from './session.js';
import { needsParser, preloadParser } from './parser-preload.js';

export type MigrationEvent =
  | { type: 'migrating'; step: Step; index: number; total: number }
  | { type: 'migrated'; step: Step; result: StepResult; index: number; total: number }
  | { type: 'lock-wait'; holder: LockHolder | undefined }
  /** A running migration waits for a lock that other sessions hold; repeated while it waits. */
  | { type: 'blocked'; step: Step; wait: LockWait }
  /** A migration (or one statement of a no-transaction file) timed out waiting for a lock, was undone, and is tried again after a pause. */
  | ({ type: 'retry'; step: Step } & LockRetry)
  | { type: 'warning'; message: string };

export type EventListener = (event: MigrationEvent) => void;

/** A step as reported to callers: plain values, ready for JSON. */
export interface StepReport {
  direction: 'up' | 'down';
  version: bigint;
  name: string;
  fileName: string;
  fromVersion: bigint | null;
  toVersion: bigint | null;
  outOfOrder: boolean;
  mode?: StepResult['mode'];
  durationMs?: number;
  /** Dry run with --sql: the SQL that would be sent. */
  sql?: string;
  /** Dry run: the file starts with a UTF-8 byte order mark, which is not sent to the server. */
  byteOrderMark?: boolean;
}

export interface RunReport {
  dryRun: boolean;
  fromVersion: bigint | null;
  toVersion: bigint | null;
  steps: StepReport[];
  warnings: string[];
  durationMs: number;
}

export function stepReport(step: Step, result?: StepResult): StepReport {
  const report: StepReport = {
    direction: step.direction, version: step.version, name: step.name, fileName: step.script.fileName,
    fromVersion: step.fromVersion, toVersion: step.toVersion, outOfOrder: step.outOfOrder,
  };
  // Assigned, not spread in: V8 gives each object made by a spread a hidden class of its own, and a run keeps one report per migration.
  if (result) {
    report.mode = result.mode;
    report.durationMs = result.durationMs;
  }
  return report;
}

export interface RunOptions {
  dryRun?: boolean;
  /** With dryRun: include each file's SQL. */
  sql?: boolean;
  onEvent?: EventListener;
  /** Aborting cancels the migration running on the server and stops the run (see README, Interrupts). */
  signal?: AbortSignal;
}

/** The interrupt came between two migrations: the ones before stay applied, nothing of the next one ran. */
function stoppedBetweenSteps(signal: AbortSignal, steps: Step[], index: number) {
  const at = index === 0 ? steps[0].fromVersion : steps[index - 1].toVersion;
  const done = index === 0 ? 'nothing was changed' : `${index} of ${steps.length} migrations ran and stay applied`;
  return interruptedError(abortSignalName(signal), `stop before migration ${steps[index].version}`,
    `${done}; the database is at version ${versionLabel(at)}, not dirty; ${steps.length - index} not run`);
}

/** Runs the steps in order, stopping at the first failure (earlier steps stay applied). */
export async function runSteps(session: Session, steps: Step[], current: bigint | null, warnings: string[], options: RunOptions): Promise<RunReport> {
  const started = performance.now();
  const last = steps.at(-1);
  const toVersion = last ? last.toVersion : current;
  if (options.dryRun) {
    // Every file is read, as a real run reads them: one that cannot run fails the plan too.
    const reports = steps.map((step) => {
      const { sql, byteOrderMark } = step.script.load();
      return { ...stepReport(step), byteOrderMark, ...(options.sql && { sql }) };
    });
    return { dryRun: true, fromVersion: current, toVersion, steps: reports, warnings, durationMs: performance.now() - started };
  }
  // Every file is read before the first one runs: an unreadable file stops the run before it changes anything.
  let parserWanted = false;
  for (const step of steps) parserWanted ||= needsParser(step.script.load().sql);
  if (parserWanted) preloadParser();
  const reports: StepReport[] = [];
  const onLockWait = options.onEvent && ((step: Step) => (wait: LockWait) => options.onEvent!({ type: 'blocked', step, wait }));
  const onRetry = options.onEvent && ((step: Step) => (retry: LockRetry) => options.onEvent!({ type: 'retry', step, ...retry }));
  for (const [index, step] of steps.entries()) {
    if (options.signal?.aborted) throw stoppedBetweenSteps(options.signal, steps, index);
    options.onEvent?.({ type: 'migrating', step, index, total: steps.length });
    const result = await executeStep({ session, signal: options.signal, onLockWait: onLockWait?.(step), onRetry: onRetry?.(step) }, step);
    reports.push(stepReport(step, result));
    options.onEvent?.({ type: 'migrated', step, result, index, total: steps.length });
  }
  return { dryRun: false, fromVersion: current, toVersion, steps: reports, warnings, durationMs: performance.now() - started };
}
