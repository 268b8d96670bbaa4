import { migrate } from '../src/index.js';
import { command, intOption, parse, run, withDatabaseOptions } from './lib/cli.js';
import { printDryRun, printUpSummary } from './lib/format/migrate.js';
import { interruptibleRun } from './lib/migration-run.js';

const cli = withDatabaseOptions(command('migrate', '[--steps N] [--dry-run [--sql]]', 'Apply pending migrations in version order.'))
  .option('--steps <n>', 'apply at most N migrations')
  .option('--dry-run', 'list what would run and change nothing')
  .option('--sql', 'with --dry-run: print each migration\'s SQL')
  .option('--allow-out-of-order', 'apply pending migrations numbered below the current version')
  .option('--ignore-checksums', 'run even if an applied migration\'s file changed')
  .option('--ddl-lock-timeout <duration>', 'PostgreSQL lock_timeout of each migration, how long its DDL may queue for a table lock; not the migration lock (TIDEMARK_DDL_LOCK_TIMEOUT, default 5s, 0 sets none)')
  .option('--ddl-retries <n>', 'tries again a migration that timed out waiting for a table lock, up to N times (TIDEMARK_DDL_RETRIES, default 3)');

void run(async ({ out, settings }) => {
  const { options } = parse(cli);
  const { signal, onEvent } = interruptibleRun(out, !options.json);
  const report = await migrate(settings(options, { ddlLockTimeout: options.ddlLockTimeout as string | undefined, ddlRetries: options.ddlRetries as string | undefined }), {
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
