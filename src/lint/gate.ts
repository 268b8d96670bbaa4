/**
 * `migrate --lint` (and `autoMigrate({ lint: true })`): the pending
 * migrations are linted before anything runs, and a finding of error
 * severity refuses the run with MIGRATION_LINT_FAILED.
 */
import type { SettingsWithoutDatabase } from '../config.js';
import { TidemarkError } from '../errors.js';
import type { MigrationSet } from '../migrate/source/index.js';
import { lintMigrations, type LintReport } from './index.js';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The error of a lint with error findings: the first five named by file, line and rule. */
export function lintFailedError(report: LintReport): TidemarkError {
  const errors = report.findings.filter((f) => f.severity === 'error');
  const rules = [...new Set(errors.map((f) => f.rule))];
  return new TidemarkError('MIGRATION_LINT_FAILED', `${plural(errors.length, 'error')} in the migrations`, {
    operation: `lint ${plural(report.files.length, 'migration file')}`,
    cause: `${errors.map((f) => `${f.file}:${f.line}:${f.column} ${f.rule}`).slice(0, 5).join('; ')}${errors.length > 5 ? `; and ${errors.length - 5} more` : ''}`,
    hint: 'each finding says the safe way; a deliberate exception takes -- tidemark:lint-ignore RULE reason on the line above the statement',
    data: { errors: errors.length, rules },
  });
}

export interface LintGateOptions {
  source?: MigrationSet;
  signal?: AbortSignal;
}

/**
 * Lints what `migrate` is about to apply (the pending migrations, with the
 * server's version and catalog) and returns the report; throws
 * MIGRATION_LINT_FAILED when a finding has error severity. Between this and
 * the run another process may apply or add migrations: the run applies what
 * is pending then, under its lock, and a file that appeared in between is
 * not linted.
 */
export async function lintBeforeMigrate(settings: SettingsWithoutDatabase, options: LintGateOptions = {}): Promise<LintReport> {
  const report = await lintMigrations(settings, { source: options.source, signal: options.signal });
  if (report.counts.error > 0) throw lintFailedError(report);
  return report;
}
