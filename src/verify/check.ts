/**
 * Checking one migration in the scratch database: up, down, up again, with
 * the schema compared at each turn. Steps run through the runner's own
 * executeStep (via runSteps), so that a failing file is reported with file,
 * line and SQLSTATE exactly as `migrate` reports it.
 */
import { TidemarkError, type ErrorCode } from '../errors.js';
import type { Migration, MigrationScript } from '../migrate/source/types.js';
import type { Step } from '../migrate/runner/plan.js';
import { runSteps } from '../migrate/runner/run.js';
import type { Session } from '../migrate/runner/session.js';
import { describeChange } from '../schema/diff.js';
import type { SchemaSnapshots, SnapshotDifference } from './snapshots.js';

export type CheckStatus = 'passed' | 'not-reversible' | 'down-missing' | 'down-failed' | 'up-failed' | 'first-up-failed';

export interface Finding {
  code: ErrorCode;
  version: bigint;
  file: string;
  message: string;
  /** Each difference in words, one per object attribute. */
  differences?: string[];
  /** A failing file: the runner's error, with line and SQLSTATE in its cause. */
  error?: Record<string, unknown>;
}

export interface MigrationCheck {
  version: bigint;
  name: string;
  upFile: string;
  downFile?: string;
  status: CheckStatus;
  findings: Finding[];
}

/** Whether the run can go on after this check: a failed file may leave the scratch schema half-changed. */
export const canContinue = (check: MigrationCheck) => !['down-failed', 'up-failed', 'first-up-failed'].includes(check.status);

function step(m: Migration, script: MigrationScript, direction: 'up' | 'down', below: bigint | null): Step {
  const [fromVersion, toVersion] = direction === 'up' ? [below, m.version] : [m.version, below];
  return { direction, version: m.version, name: m.name, script, fromVersion, toVersion, outOfOrder: false };
}

/** Runs one step; a failure of the file itself comes back as its error (interrupts and lost connections are thrown). */
async function runOne(session: Session, s: Step, signal?: AbortSignal): Promise<TidemarkError | undefined> {
  try {
    await runSteps(session, [s], s.fromVersion, [], { signal });
    return undefined;
  } catch (err) {
    if (err instanceof TidemarkError && (err.code === 'MIGRATION_UP_FAILED' || err.code === 'MIGRATION_DOWN_FAILED')) return err;
    throw err;
  }
}

/** Applies migrations without checking them (the way to the starting point); the first failure is thrown as it is. */
export async function applyUnchecked(session: Session, migrations: Migration[], below: bigint | null, signal?: AbortSignal): Promise<void> {
  let current = below;
  const steps = migrations.map((m) => {
    if (!m.up) throw noUpFile(m);
    const s = step(m, m.up, 'up', current);
    current = m.version;
    return s;
  });
  if (steps.length) await runSteps(session, steps, below, [], { signal });
}

function noUpFile(m: Migration): TidemarkError {
  return new TidemarkError('MIGRATION_SOURCE_FAILED', 'migration has no up file', {
    operation: `verify migration ${m.version}`, cause: `version ${m.version} has ${m.down?.fileName ?? 'a down file'} but no .up.sql file`, hint: 'add the up file, or remove the stray down file',
  });
}

function failed(code: ErrorCode, m: Migration, file: string, message: string, err: TidemarkError): Finding {
  return { code, version: m.version, file, message, error: err.toJSON() };
}

function afterDownWords(d: SnapshotDifference, upFile: string, downFile: string): string[] {
  const c = d.change;
  const why = c.change === 'added'
    ? (d.afterUp ? `created by ${upFile}, not dropped by its down` : `created by its down ${downFile}`)
    : c.change === 'removed' ? (d.afterUp ? `dropped by its down ${downFile}` : `dropped by ${upFile}, not recreated by its down`) : undefined;
  return describeChange(c, { before: 'before', after: 'after down' }, why);
}

export interface CheckContext {
  session: Session;
  snapshots: SchemaSnapshots;
  signal?: AbortSignal;
}

/**
 * Checks one migration: S(before) → up → S(after) → down → S(before)′ → up
 * → S(after)′, with S(before) = S(before)′ and S(after) = S(after)′. Expects
 * the snapshot fp_before to hold the schema now; leaves in it the schema the
 * next migration starts from.
 */
export async function checkMigration(ctx: CheckContext, m: Migration, below: bigint | null): Promise<MigrationCheck> {
  if (!m.up) throw noUpFile(m);
  const base = { version: m.version, name: m.name, upFile: m.up.fileName, downFile: m.down?.fileName };
  const upError = await runOne(ctx.session, step(m, m.up, 'up', below), ctx.signal);
  if (upError) return { ...base, status: 'first-up-failed', findings: [failed('MIGRATION_UP_FAILED', m, m.up.fileName, `${m.up.fileName} fails`, upError)] };
  if (!m.down) {
    await ctx.snapshots.take('fp_before');
    const message = `${m.up.fileName} has no down file (${m.up.fileName.replace(/\.up\.sql$/, '.down.sql')})`;
    return { ...base, status: 'down-missing', findings: [{ code: 'VERIFY_DOWN_MISSING', version: m.version, file: m.up.fileName, message }] };
  }
  await ctx.snapshots.take('fp_after');
  const downError = await runOne(ctx.session, step(m, m.down, 'down', below), ctx.signal);
  if (downError) return { ...base, status: 'down-failed', findings: [failed('VERIFY_DOWN_FAILED', m, m.down.fileName, `${m.down.fileName} fails`, downError)] };
  const findings: Finding[] = [];
  const afterDown = await ctx.snapshots.differences('fp_before', 'fp_after');
  if (afterDown.length) {
    const differences = afterDown.flatMap((d) => afterDownWords(d, m.up!.fileName, m.down!.fileName));
    findings.push({ code: 'VERIFY_NOT_REVERSIBLE', version: m.version, file: m.down.fileName, message: `${m.down.fileName} does not undo ${m.up.fileName}`, differences });
  }
  const again = await runOne(ctx.session, step(m, m.up, 'up', below), ctx.signal);
  if (again) return { ...base, status: 'up-failed', findings: [...findings, failed('VERIFY_UP_FAILED', m, m.up.fileName, `${m.up.fileName} fails when run again after its down`, again)] };
  const secondUp = await ctx.snapshots.differences('fp_after');
  if (secondUp.length) {
    const differences = secondUp.flatMap((d) => describeChange(d.change, { before: 'after the first up', after: 'after the second up' }));
    findings.push({ code: 'VERIFY_NOT_REVERSIBLE', version: m.version, file: m.up.fileName, message: `${m.up.fileName} leaves another schema when run again after its down`, differences });
    await ctx.snapshots.take('fp_before');
  } else {
    await ctx.snapshots.rename('fp_after', 'fp_before');
  }
  return { ...base, status: findings.length ? 'not-reversible' : 'passed', findings };
}
