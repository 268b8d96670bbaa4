/** Text renderings of the core's results for the terminal and for logs. */
import type { MigrationEvent, RunReport, StepReport } from '../../../src/migrate/runner/run.js';
import type { StatusReport } from '../../../src/migrate/commands/status.js';
import type { HistoryReport } from '../../../src/migrate/commands/history.js';
import { describeHolder } from '../../../src/migrate/state/lock.js';
import { describeBlockingSession, describeWaitedLock, type LockWait } from '../../../src/migrate/runner/backend-watch.js';
import { lockTimeoutText, type LockRetry } from '../../../src/migrate/runner/ddl-lock.js';
import type { Step } from '../../../src/migrate/runner/plan.js';
import type { Output } from '../cli.js';

export const versionText = (v: bigint | null | undefined): string => (v === null || v === undefined ? 'none' : String(v));

export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined) return '-';
  return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${Math.round(value)} ms`;
}

function stepLabel(step: Pick<StepReport, 'version' | 'name' | 'fileName'>): string {
  return `${step.version} ${step.name} (${step.fileName})`;
}

/** Progress lines as migrations run; the same for a terminal and a log file. */
export function printEvent(out: Output, event: MigrationEvent): void {
  if (event.type === 'lock-wait') out.warn(`waiting for the migration lock, ${describeHolder(event.holder)}`);
  else if (event.type === 'blocked') out.warn(describeLockWait(event.step, event.wait));
  else if (event.type === 'retry') out.warn(describeRetry(event.step, event));
  else if (event.type === 'warning') out.warn(`warning: ${event.message}`);
  else if (event.type === 'migrated') {
    const { step, result } = event;
    const verb = step.direction === 'up' ? 'applied' : 'rolled back';
    const mode = result.mode === 'transaction' ? '' : `, ${result.mode}`;
    out.line(`  ${verb} ${step.version} ${step.name} (${step.script.fileName}) in ${ms(result.durationMs)}${mode}`);
  }
}

/** A migration waits for a lock: which, for how long, held by whom; meanwhile its queued lock blocks others too. */
export function describeLockWait(step: Step, wait: LockWait): string {
  const by = wait.holders.map(describeBlockingSession).join('; ');
  return `  migration ${step.version} has waited ${ms(wait.waitedMs)} for ${describeWaitedLock(wait)}, held by ${by} (queries on that table queue behind it)`;
}

/** A try timed out waiting for a lock and was undone: who held it, and when the next try comes. */
export function describeRetry(step: Step, retry: LockRetry): string {
  const what = retry.statement ? `migration ${step.version}, statement ${retry.statement.index} of ${retry.statement.total} (line ${retry.statement.line}),` : `migration ${step.version}`;
  const lock = retry.wait ? describeWaitedLock(retry.wait) : 'a lock';
  const by = retry.wait?.holders.length ? `held by ${retry.wait.holders.map(describeBlockingSession).join('; ')}` : 'held by a session that was not seen';
  const undone = retry.statement ? 'it did not run (statements before it stay applied)' : 'rolled back';
  const left = retry.invalidIndexes ? `; the invalid index ${retry.invalidIndexes.join(', ')} it left is dropped first` : '';
  return `  ${what} timed out waiting for ${lock} (${lockTimeoutText(retry.lockTimeout)}), ${by}; ${undone}${left}; retry ${retry.attempt} of ${retry.retries} in ${ms(retry.delayMs)}`;
}

export function printDryRun(out: Output, report: RunReport, verb: string): void {
  out.line('Dry run: nothing was changed.');
  out.line(`Current version: ${versionText(report.fromVersion)}`);
  out.line(`Target version: ${versionText(report.toVersion)}`);
  if (!report.steps.length) {
    out.line(`Nothing to ${verb}.`);
    return;
  }
  out.line(`Would ${verb} ${report.steps.length} migration${report.steps.length === 1 ? '' : 's'}:`);
  for (const step of report.steps) {
    out.line(`  ${stepLabel(step)}${step.outOfOrder ? ' [out of order]' : ''}`);
    if (step.sql === undefined) continue;
    if (step.byteOrderMark) out.line('      (a UTF-8 byte order mark at the start of the file is not sent)');
    out.line(step.sql.replace(/\s+$/, '').split('\n').map((l) => `      ${l}`).join('\n'));
  }
}

export function printUpSummary(out: Output, report: RunReport): void {
  if (!report.steps.length) out.line(`Already at latest version: ${versionText(report.toVersion)}`);
  else out.line(`Migrated from version ${versionText(report.fromVersion)} to ${versionText(report.toVersion)} (${report.steps.length} migration${report.steps.length === 1 ? '' : 's'}, ${ms(report.durationMs)})`);
}

export function printDownSummary(out: Output, report: RunReport): void {
  if (!report.steps.length) out.line(`Nothing to roll back: at version ${versionText(report.toVersion)}`);
  else out.line(`Rolled back from version ${versionText(report.fromVersion)} to ${versionText(report.toVersion)} (${report.steps.length} migration${report.steps.length === 1 ? '' : 's'}, ${ms(report.durationMs)})`);
}

export function printStatus(out: Output, s: StatusReport): void {
  out.line(`Database:  ${s.database}`);
  out.line(`Table:     ${s.table}`);
  out.line(`Version:   ${versionText(s.version)}${s.dirty ? ' (dirty)' : ''}`);
  out.line(`Applied:   ${s.counts.applied}    Pending: ${s.counts.pending}    Files: ${s.counts.total}`);
  if (s.pending.length) {
    out.line('Pending:');
    for (const p of s.pending) out.line(`  ${p.version} ${p.name} (${p.fileName ?? 'no file'})`);
  }
  if (s.problems.length) {
    out.line('Problems:');
    for (const p of s.problems) out.line(`  [${p.kind}] ${p.message}`);
  }
  for (const note of s.notes) out.line(`Note: ${note}`);
  for (const warning of s.warnings) out.warn(`warning: ${warning}`);
  if (!s.problems.length && !s.pending.length) out.line('Up to date.');
}

const APPLIED_BY: Record<string, string> = { tidemark: '', bootstrap: 'bootstrapped', outside: 'applied outside tidemark (no history)' };

export function printHistory(out: Output, h: HistoryReport): void {
  if (!h.migrations.length) {
    out.line('No migrations.');
    return;
  }
  for (const m of h.migrations) {
    const flags = [m.current ? '(current)' : '', m.current && h.dirty ? '(dirty)' : '', m.outOfOrder ? '(out of order)' : '', m.missingFile ? '(file missing)' : ''].filter(Boolean).join(' ');
    const label = `${m.version} ${m.name}${flags ? ` ${flags}` : ''}`;
    if (m.state === 'pending') {
      out.line(`${label}\n    pending`);
      continue;
    }
    const detail = m.appliedBy && m.appliedBy !== 'tidemark' ? APPLIED_BY[m.appliedBy] : '';
    const when = m.appliedAt ? `applied ${m.appliedAt.toISOString()}` : '';
    const who = m.user ? `by ${m.user}${m.host ? `@${m.host}` : ''}${m.application ? ` (${m.application})` : ''}` : '';
    const duration = m.durationMs !== undefined ? `in ${ms(m.durationMs)}` : '';
    out.line(`${label}\n    ${[when, duration, who, detail].filter(Boolean).join(', ')}`);
  }
}
