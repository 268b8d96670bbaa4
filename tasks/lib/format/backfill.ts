/**
 * A backfill's progress (a bar redrawn in place on a terminal, plain lines
 * at each tenth of the work or every 30 s for cron logs), its summary, and
 * the list of backfills.
 */
import type { BackfillEvent } from '../../../src/backfill/batches.js';
import type { BackfillReport } from '../../../src/backfill/run.js';
import type { BackfillList } from '../../../src/backfill/list.js';
import type { RunRecord } from '../../../src/backfill/store.js';
import { describeScope } from '../../../src/backfill/scope.js';
import type { Output } from '../cli.js';
import { ms } from './migrate.js';
import { count } from './table.js';

export interface Progress {
  runRows: number;
  total: number | null;
  elapsedMs: number;
}

export function rate(p: Progress): number {
  return p.elapsedMs > 0 ? (p.runRows * 1000) / p.elapsedMs : 0;
}

/** `1:05`, `12:00:07` */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const [h, m, sec] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const two = (n: number) => String(n).padStart(2, '0');
  return h ? `${h}:${two(m)}:${two(sec)}` : `${m}:${two(sec)}`;
}

/** `25,000/100,000 rows (25%), 31,250 rows/s, ETA 0:02`; without a total, rows and rate only. */
export function progressText(p: Progress): string {
  const perSecond = rate(p);
  const speed = `${count(Math.round(perSecond))} rows/s`;
  if (p.total === null) return `${count(p.runRows)} rows, ${speed}`;
  const percent = p.total ? Math.min(100, Math.floor((p.runRows / p.total) * 100)) : 100;
  const remaining = Math.max(0, p.total - p.runRows);
  const eta = remaining === 0 ? clock(0) : perSecond > 0 ? clock(remaining / perSecond) : '?';
  return `${count(p.runRows)}/${count(p.total)} rows (${percent}%), ${speed}, ETA ${eta}`;
}

export function progressBar(p: Progress, width = 24): string {
  const fraction = p.total ? Math.min(1, p.runRows / p.total) : p.total === 0 ? 1 : 0;
  const done = Math.round(fraction * width);
  return `[${'#'.repeat(done)}${'.'.repeat(width - done)}]`;
}

const LINE_EVERY_MS = 30_000;
const REDRAW_EVERY_MS = 100;

/** Prints a run's events: in place on a terminal, as lines otherwise. */
export function progressPrinter(out: Output, tty: boolean): { onEvent(event: BackfillEvent): void; finish(): void } {
  let last: Progress | undefined;
  let printedAt = 0;
  let tenth = 0;
  const draw = () => last && out.write(`\r${progressBar(last)} ${progressText(last)}\x1b[K`);
  return {
    onEvent(event) {
      if (event.type === 'retry') out.warn(`${tty ? '\n' : ''}batch retried (attempt ${event.attempt + 1}) in ${ms(event.delayMs)}: ${event.reason}`);
      if (event.type === 'started') {
        const resumed = event.resumed ? `, resuming after cursor ${JSON.stringify(event.resumed.cursor)} (${count(event.resumed.rowsDone)} rows done before)` : '';
        const total = event.total === null ? '' : `: ${count(event.total)} rows to change`;
        out.line(`Backfill ${event.backfill} (${describeScope(event.scope)})${total}${resumed}`);
        printedAt = Date.now();
      }
      if (event.type !== 'batch') return;
      last = { runRows: event.runRows, total: event.total, elapsedMs: event.elapsedMs };
      const now = Date.now();
      const reached = event.total ? Math.floor((event.runRows / event.total) * 10) : 0;
      if (tty && now - printedAt >= REDRAW_EVERY_MS) draw();
      else if (!tty && (reached > tenth || now - printedAt >= LINE_EVERY_MS)) out.line(`  ${progressText(last)}`);
      else return;
      printedAt = now;
      tenth = Math.max(tenth, reached);
    },
    finish() {
      if (!tty || !last) return;
      draw();
      out.write('\n');
    },
  };
}

export function printBackfillReport(out: Output, report: BackfillReport): void {
  const what = `backfill ${report.backfill} (${describeScope(report.scope)})`;
  const resumable = report.resumed ? ` An unfinished run stopped after cursor ${JSON.stringify(report.resumed.cursor)} (${count(report.resumed.rowsDone)} rows done); the next run resumes there (--restart begins again).` : '';
  if (report.outcome === 'dry-run') {
    out.line(`Dry run: ${what} would change ${count(report.count ?? 0)} rows; nothing was changed.${resumable}`);
    return;
  }
  const done = `${count(report.rows)} rows in ${count(report.batches)} batch${report.batches === 1 ? '' : 'es'}, ${ms(report.durationMs)}`;
  const speed = `${count(Math.round(rate({ runRows: report.rows, total: null, elapsedMs: report.durationMs })))} rows/s`;
  if (report.outcome === 'completed') out.line(`Completed ${what}: ${done} (${speed}).`);
  else out.line(`Stopped ${what}: ${done}. Run it again to resume after the last batch.`);
}

function describeRun(run: RunRecord): string {
  const when = run.startedAt.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  const who = `${run.dbUser}${run.osUser ? ` (${run.osUser}${run.clientHost ? `@${run.clientHost}` : ''})` : ''}`;
  const took = run.durationMs === null ? '' : ` in ${ms(run.durationMs)}`;
  return `${run.outcome} ${when} by ${who}, ${describeScope(run.scope)}, ${count(run.rows)} rows${took}`;
}

export function printBackfillList(out: Output, list: BackfillList): void {
  if (!list.backfills.length) {
    out.hint(`No backfills in ${list.dir} (create one: task backfill:create -- NAME)`);
    return;
  }
  for (const b of list.backfills) {
    if (b.error) {
      out.line(`${b.name}  (cannot be loaded)\n    ${b.error.split('\n').join('\n    ')}`);
      continue;
    }
    out.line(`${b.name}  ${b.description}`);
    if (b.scopeKeys?.length) out.line(`    scope keys: ${b.scopeKeys.join(', ')}`);
    out.line(`    last run: ${b.lastRun ? describeRun(b.lastRun) : 'never'}`);
  }
}
