import { migrateGoto } from '../src/index.js';
import { invalidVersion } from '../src/migrate/commands/force.js';
import { parseVersionArgument } from '../src/migrate/source/parse.js';
import { command, parse, run, usageError, withDatabaseOptions } from './lib/cli.js';
import { printDownSummary, printDryRun, printUpSummary } from './lib/format/migrate.js';
import { interruptibleRun } from './lib/migration-run.js';

const cli = withDatabaseOptions(command('migrate:goto', 'V [--dry-run [--sql]]', 'Migrate up or down to exactly version V (an existing version, or 0).'))
  .option('--dry-run', 'list what would run and change nothing')
  .option('--sql', 'with --dry-run: print each migration\'s SQL')
  .option('--ddl-lock-timeout <duration>', 'PostgreSQL lock_timeout of each migration, how long its DDL may queue for a table lock; not the migration lock (TIDEMARK_DDL_LOCK_TIMEOUT, default 5s, 0 sets none)')
  .option('--ddl-retries <n>', 'tries again a migration that timed out waiting for a table lock, up to N times (TIDEMARK_DDL_RETRIES, default 3)');

void run(async ({ out, settings }) => {
  const { args, options } = parse(cli);
  if (args.length !== 1) throw usageError('read the command line', 'give exactly one version', 'task migrate:goto -- 7');
  const version = parseVersionArgument(args[0]);
  if (version === undefined) throw invalidVersion('read the version', args[0], 'a whole number from 0 to 9223372036854775807');
  const { signal, onEvent } = interruptibleRun(out, !options.json);
  const report = await migrateGoto(settings(options, { ddlLockTimeout: options.ddlLockTimeout as string | undefined, ddlRetries: options.ddlRetries as string | undefined }), version, { dryRun: !!options.dryRun, sql: !!options.sql, onEvent, signal });
  if (options.json) out.json(report);
  else if (report.dryRun) printDryRun(out, report, 'run');
  else if (report.steps[0]?.direction === 'down') printDownSummary(out, report);
  else printUpSummary(out, report);
});
