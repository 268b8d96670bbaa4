/** Text renderings of a fleet run: progress while it runs, one line per target at the end. */
import type { FleetEvent } from '../../../src/fleet/run.js';
import type { FleetReport, TargetResult, TargetState } from '../../../src/fleet/report.js';
import type { Output } from '../cli.js';
import { ms, versionText } from './migrate.js';

const STATE_LABEL: Record<TargetState, string> = {
  done: 'done', skipped: 'skipped', failed: 'FAILED', stopped: 'stopped', interrupted: 'interrupted', 'not-started': 'not started', running: 'running',
};
const LABEL_WIDTH = Math.max(...Object.values(STATE_LABEL).map((l) => l.length));

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const firstLine = (text: string) => text.split('\n')[0];

/** What a finished target's line says after its name, by command. */
function doneText(command: FleetReport['command'], r: TargetResult): string {
  const d = r.detail ?? {};
  if (command === 'migrate') return `${versionText(r.before)} → ${versionText(r.after)}, ${plural(r.applied ?? 0, 'migration')} applied`;
  if (command === 'migrate:status') {
    const problems = (d.problems as string[] | undefined) ?? [];
    return `version ${versionText(r.after)}${d.dirty ? ' (dirty)' : ''}, ${d.pending} pending${problems.length ? `, problems: ${problems.join(', ')}` : ''}`;
  }
  if (command === 'migrate:verify') return d.checked ? `${d.passed} of ${plural(d.checked as number, 'migration')} verified` : 'nothing to verify (no migration pending)';
  if (command === 'backup:create') return `${d.path}${d.verified ? ', verified' : ', not verified'}${d.pruned ? `, ${d.pruned} pruned` : ''}`;
  return `${d.checks} checks passed`;
}

function failedText(r: TargetResult): string {
  const e = r.error!;
  const sqlstate = e.sqlstate ? ` (SQLSTATE ${e.sqlstate})` : '';
  return `${e.code}${sqlstate}: ${e.message}${e.cause ? `: ${firstLine(e.cause)}` : ''}`;
}

/** One target's line: state, name, then versions and counts, or the error's code and message. */
export function targetLine(command: FleetReport['command'], r: TargetResult): string {
  const what = r.state === 'done' ? doneText(command, r) : r.state === 'failed' ? failedText(r) : (r.note ?? '');
  const took = r.durationMs === undefined ? '' : ` (${ms(r.durationMs)})`;
  return `${STATE_LABEL[r.state].padEnd(LABEL_WIDTH)}  ${r.name}  ${what}${r.state === 'done' || r.state === 'failed' ? took : ''}`.trimEnd();
}

export function summaryLine(report: FleetReport): string {
  const c = report.counts;
  const parts = [`${c.done} done`, c.skipped && `${c.skipped} skipped (done before)`, c.failed && `${c.failed} failed`, c.stopped && `${c.stopped} stopped`,
    c.interrupted && `${c.interrupted} interrupted`, c.notStarted && `${c.notStarted} not started`].filter(Boolean);
  return `${report.command} on ${plural(c.total, 'target')}: ${parts.join(', ')} (${report.parallel} at a time, ${ms(report.durationMs)})`;
}

export function printFleetReport(out: Output, report: FleetReport): void {
  for (const r of report.targets) out.line(targetLine(report.command, r));
  out.line(summaryLine(report));
}

export interface Progress {
  onEvent(event: FleetEvent): void;
  /** Removes the redrawn line before the report is printed. */
  clear(): void;
}

/** How long the targets left may take: the mean so far, spread over the targets at a time. */
function eta(finished: number[], left: number, parallel: number): string {
  if (!finished.length || !left) return '';
  const mean = finished.reduce((a, b) => a + b, 0) / finished.length;
  return `, ETA ${ms((mean * left) / parallel)}`;
}

/**
 * On a terminal, one line redrawn in place (done / failed / running, ETA);
 * otherwise a plain line on stderr as each target ends.
 */
export function fleetProgress(out: Output, command: FleetReport['command'], terminal: boolean): Progress {
  let total = 0;
  let parallel = 1;
  let running = 0;
  let failed = 0;
  const durations: number[] = [];
  let drawn = false;
  const draw = () => {
    const line = `${command}: ${durations.length}/${total} finished, ${failed} failed, ${running} running${eta(durations, total - durations.length, parallel)}`;
    out.write(`\r\x1b[K${line}`);
    drawn = true;
  };
  return {
    onEvent(event) {
      if (event.type === 'plan') [total, parallel] = [event.toRun, event.parallel];
      else if (event.type === 'started') running++;
      else {
        running--;
        durations.push(event.result.durationMs ?? 0);
        if (event.result.state === 'failed') failed++;
        if (!terminal) out.warn(`[${durations.length}/${total}] ${targetLine(command, event.result)}`);
      }
      if (terminal) draw();
    },
    clear() {
      if (drawn) out.write('\r\x1b[K');
    },
  };
}
