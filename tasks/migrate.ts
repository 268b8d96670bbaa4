import { lintFailedError, lintMigrations, migrate } from '../src/index.js';
import { command, intOption, parse, run, usageError, withDatabaseOptions } from './lib/cli.js';
import { printDryRun, printUpSummary } from './lib/format/migrate.js';
import { printLintReport } from './lib/format/lint.js';
import { interruptibleRun } from './lib/migration-run.js';
import { fleetSource, runFleetCommand, withFleetOptions } from './lib/fleet.js';
import { migrateCommand } from '../src/fleet/commands.js';

const cli = withFleetOptions(withDatabaseOptions(command('migrate', '[--steps N] [--dry-run [--sql]] [--lint]', 'Apply pending migrations in version order.'))
  .option('--steps <n>', 'apply at most N migrations')
  .option('--dry-run', 'list what would run and change nothing')
  .option('--sql', 'with --dry-run: print each migration\'s SQL')
  .option('--allow-out-of-order', 'apply pending migrations numbered below the current version')
  .option('--ignore-checksums', 'run even if an applied migration\'s file changed')
  .option('--lint', 'lint the pending migrations first (as migrate:lint) and apply nothing on an error finding')
  .option('--ddl-lock-timeout <duration>', 'PostgreSQL lock_timeout of each migration, how long its DDL may queue for a table lock; not the migration lock (TIDEMARK_DDL_LOCK_TIMEOUT, default 5s, 0 sets none)')
  .option('--ddl-retries <n>', 'tries again a migration that timed out waiting for a table lock, up to N times (TIDEMARK_DDL_RETRIES, default 3)'));

void run(async (commandRun) => {
  const { out, settings } = commandRun;
  const { options } = parse(cli);
  const targets = fleetSource();
  if (targets) {
    if (options.dryRun || options.lint) throw usageError('read the command line', `${options.dryRun ? '--dry-run' : '--lint'} does not apply to a fleet run`, 'run it against one target (DATABASE_URL) first');
    const extra = { ddlLockTimeout: options.ddlLockTimeout as string | undefined, ddlRetries: options.ddlRetries as string | undefined };
    const fleetCommand = migrateCommand({ steps: intOption(options.steps, '--steps', 1), allowOutOfOrder: !!options.allowOutOfOrder, ignoreChecksums: !!options.ignoreChecksums });
    return runFleetCommand(commandRun, options, targets, { command: fleetCommand, extra });
  }
  const { signal, onEvent } = interruptibleRun(out, !options.json);
  const config = settings(options, { lint: !!options.lint, ddlLockTimeout: options.ddlLockTimeout as string | undefined, ddlRetries: options.ddlRetries as string | undefined });
  if (options.lint) {
    // The findings are printed whether they let the run go on or not; one of error severity stops it before anything runs.
    const lint = await lintMigrations(config, { signal });
    if (!options.json && lint.findings.length) printLintReport(out, lint);
    if (lint.counts.error) throw lintFailedError(lint);
  }
  const report = await migrate(config, {
    steps: intOption(options.steps, '--steps', 1),
    dryRun: !!options.dryRun,
    sql: !!options.sql,
    allowOutOfOrder: !!options.allowOutOfOrder,
    ignoreChecksums: !!options.ignoreChecksums,
    onEvent,
    signal,
  });
  if (options.json) out.json(report);
  else if (report.dryRun) printDryRun(out, report, 'apply');
  else printUpSummary(out, report);
});
