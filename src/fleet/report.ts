/**
 * Where each target of a fleet stands: the report a run returns, prints and
 * writes to --report, and that --resume reads back. Plain values, ready for JSON.
 */
import { TidemarkError } from '../errors.js';
import { isPgError } from '../pg-errors.js';

/**
 * done: the command succeeded; skipped: done in the report resumed from;
 * failed: its own coded error; stopped: after another target failed under
 * `--on-error stop`, it ended after its current migration; interrupted:
 * SIGINT/SIGTERM cancelled it; not-started: never begun; running: only in a
 * report file written while the run goes on (a run killed outright leaves it).
 */
export type TargetState = 'done' | 'skipped' | 'failed' | 'stopped' | 'interrupted' | 'not-started' | 'running';

export const FLEET_COMMANDS = ['migrate', 'migrate:status', 'migrate:verify', 'backup:create', 'db:check'] as const;
export type FleetCommandName = (typeof FLEET_COMMANDS)[number];

export interface TargetError {
  code: string;
  message: string;
  operation: string;
  cause?: string;
  /** PostgreSQL's SQLSTATE, when a statement failed. */
  sqlstate?: string;
}

export interface TargetResult {
  /** The URL, password masked: the identity --resume matches on. */
  target: string;
  name: string;
  state: TargetState;
  /** The migration version before and after (null: none). */
  before?: bigint | null;
  after?: bigint | null;
  /** Migrations applied by this run. */
  applied?: number;
  /** When the target's run began (absent when it never did). */
  startedAt?: Date;
  durationMs?: number;
  error?: TargetError;
  /** What the command found besides: pending counts, a backup's path, failed checks... */
  detail?: Record<string, unknown>;
  /** Why it did not start, or what stopped it. */
  note?: string;
}

export interface FleetCounts {
  total: number;
  done: number;
  skipped: number;
  failed: number;
  stopped: number;
  interrupted: number;
  notStarted: number;
}

export interface FleetReport {
  command: FleetCommandName;
  startedAt: Date;
  durationMs: number;
  /** Targets run at a time (the connection cap may lower --parallel). */
  parallel: number;
  maxConnections: number;
  onError: 'stop' | 'continue';
  canary: number;
  /** The report this run resumed, if any. */
  resumedFrom?: string;
  /** The signal that stopped the run, if one did. */
  signal?: 'SIGINT' | 'SIGTERM';
  /** Every target done (or done before, when resumed). */
  ok: boolean;
  counts: FleetCounts;
  targets: TargetResult[];
}

/** States that a resumed run leaves alone. */
export const FINISHED_STATES: ReadonlySet<TargetState> = new Set(['done', 'skipped']);

export function countStates(targets: TargetResult[]): FleetCounts {
  const of = (state: TargetState) => targets.filter((t) => t.state === state).length;
  return {
    total: targets.length, done: of('done'), skipped: of('skipped'), failed: of('failed'), stopped: of('stopped'),
    interrupted: of('interrupted'), notStarted: of('not-started') + of('running'),
  };
}

/** The SQLSTATE of the first PostgreSQL error in the chain of causes. */
function sqlstateOf(err: unknown): string | undefined {
  for (let at: unknown = err, depth = 0; at && depth < 5; at = (at as { cause?: unknown }).cause, depth++) {
    if (isPgError(at)) return at.code;
  }
  return undefined;
}

/** Any failure as the report holds it: a coded error as it is; anything else under FLEET_TARGET_FAILED. */
export function targetError(err: unknown): TargetError {
  const sqlstate = sqlstateOf(err);
  if (err instanceof TidemarkError) {
    return { code: err.code, message: err.message, operation: err.operation, ...(err.reason !== undefined && { cause: err.reason }), ...(sqlstate && { sqlstate }) };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'FLEET_TARGET_FAILED', message: 'the target failed', operation: 'run the command on the target', cause: message, ...(sqlstate && { sqlstate }) };
}

/** The summary error of a run in which targets failed or did not finish (exit 1). */
export function fleetFailedError(report: FleetReport): TidemarkError {
  const c = report.counts;
  const parts = [`${c.failed} failed`, c.stopped && `${c.stopped} stopped`, c.notStarted && `${c.notStarted} not started`].filter(Boolean);
  const first = report.targets.find((t) => t.state === 'failed');
  return new TidemarkError('FLEET_FAILED', `${c.failed + c.stopped + c.notStarted} of ${c.total} targets did not finish`, {
    operation: `${report.command} on ${c.total} targets`,
    cause: `${parts.join(', ')}${first?.error ? `; first failure: ${first.name}: ${first.error.code}` : ''}`,
    hint: 'fix what the report says, then run again with --resume REPORT: only the targets not done run',
    data: { counts: c },
  });
}
