import { isFalse, settingsFrom, readEnvironment, type ConfigInput } from './config.js';
import { migrate, type MigrateOptions } from './migrate/commands/migrate.js';
import { inlineMigrations, type InlineMigration } from './migrate/source/index.js';
import type { RunReport } from './migrate/runner/run.js';
import { lintBeforeMigrate } from './lint/gate.js';

export interface AutoMigrateOptions extends ConfigInput, Pick<MigrateOptions, 'onEvent' | 'allowOutOfOrder' | 'ignoreChecksums' | 'signal'> {
  /** The app's prefix: `HOLOMUSH` reads HOLOMUSH_DB_AUTO_MIGRATE. Default TIDEMARK. */
  envPrefix?: string;
  /** Migrations bundled into the app; without it, the directory is read. */
  migrations?: InlineMigration[];
  /** Lint the pending migrations first; a finding of error severity applies nothing (MIGRATION_LINT_FAILED). */
  lint?: boolean;
}

export type AutoMigrateResult = ({ skipped: false } & RunReport) | { skipped: true; reason: string };

/**
 * For an app's start-up: applies pending migrations under the lock, so that
 * replicas starting together apply each migration once. Throws TidemarkError.
 */
export async function autoMigrate(options: AutoMigrateOptions = {}): Promise<AutoMigrateResult> {
  const variable = `${(options.envPrefix ?? 'TIDEMARK').replace(/_+$/, '')}_DB_AUTO_MIGRATE`;
  const env = readEnvironment(options);
  if (isFalse(env[variable])) return { skipped: true, reason: `${variable}=${env[variable]}` };
  const settings = settingsFrom({ ...options, requireDatabase: true }, env);
  const source = options.migrations ? inlineMigrations(options.migrations) : undefined;
  if (options.lint) await lintBeforeMigrate(settings, { source, signal: options.signal });
  const report = await migrate(settings, { source, onEvent: options.onEvent, allowOutOfOrder: options.allowOutOfOrder, ignoreChecksums: options.ignoreChecksums, signal: options.signal });
  return { skipped: false, ...report };
}
