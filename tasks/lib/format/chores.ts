/** Text renderings of the database chores' results: db:check, db:stats, db:query. */
import type { CheckReport } from '../../../src/chores/check.js';
import type { StatsReport } from '../../../src/chores/stats.js';
import type { QueryResult } from '../../../src/chores/query.js';
import { TidemarkError } from '../../../src/errors.js';
import type { Output } from '../cli.js';
import { versionText } from './migrate.js';
import { alignedTable, count, csvLine, prettySize } from './table.js';

const MARK = { pass: 'ok  ', fail: 'FAIL', skip: 'skip' } as const;

export function printCheckReport(out: Output, report: CheckReport): void {
  out.line(`Database: ${report.database}`);
  const labelWidth = Math.max(...report.checks.map((c) => c.label.length));
  for (const check of report.checks) {
    out.line(`  ${MARK[check.status]}  ${check.label.padEnd(labelWidth)}  ${check.detail}`);
    if (check.status === 'fail' && check.remedy) out.hint(`        ${' '.repeat(labelWidth)}  remedy: ${check.remedy}`);
  }
  const passed = report.checks.filter((c) => c.status === 'pass').length;
  out.line(report.ok ? `All ${passed} checks passed.` : `${report.failed} of ${report.checks.length} checks failed.`);
}

export function checkFailed(report: CheckReport): TidemarkError {
  const failed = report.checks.filter((c) => c.status === 'fail');
  return new TidemarkError('CHECK_FAILED', `${failed.length} of ${report.checks.length} checks failed`, {
    operation: `check ${report.database}`,
    cause: failed.map((c) => `${c.label}: ${c.detail.split('\n')[0]}`).join('; '),
    hint: 'each failed line of the checklist says what to do',
    data: { failed: failed.map((c) => c.label) },
  });
}

const when = (auto: Date | null, manual: Date | null): string => {
  const latest = [manual, auto].filter((d): d is Date => !!d).sort((a, b) => b.getTime() - a.getTime())[0];
  if (!latest) return 'never';
  return `${latest.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z')}${latest === auto ? ' (auto)' : ''}`;
};

export function printStats(out: Output, stats: StatsReport): void {
  out.line(`Database:  ${stats.database} (${prettySize(stats.databaseBytes)}, ${count(stats.tableCount)} tables)`);
  out.line(`Migration: ${versionText(stats.version)}${stats.dirty ? ' (dirty)' : ''}`);
  if (!stats.tables.length) {
    out.line('No tables.');
    return;
  }
  const rows = stats.tables.map((t) => [
    `${t.schema}.${t.name}`, count(t.liveRows), prettySize(t.totalBytes), when(t.lastAutovacuum, t.lastVacuum), when(t.lastAutoanalyze, t.lastAnalyze),
  ]);
  for (const line of alignedTable(['table', 'rows (estimate)', 'total size', 'last vacuum', 'last analyze'], rows, [false, true, true])) out.line(line);
}

export function printQueryTable(out: Output, result: QueryResult): void {
  if (!result.columns.length) {
    out.line(`${result.command}${result.rowCount !== null ? ` ${result.rowCount}` : ''}`);
    return;
  }
  for (const line of alignedTable(result.columns.map((c) => c.name), result.rows, result.columns.map((c) => c.numeric))) out.line(line);
  out.line(`(${result.rows.length} row${result.rows.length === 1 ? '' : 's'})`);
}

export function printQueryCsv(out: Output, result: QueryResult): void {
  if (!result.columns.length) return;
  out.line(csvLine(result.columns.map((c) => c.name)));
  for (const row of result.rows) out.line(csvLine(row));
}
