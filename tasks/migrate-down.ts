import { migrateDown } from '../src/index.js';
import { parseVersionArgument } from '../src/migrate/source/parse.js';
import { invalidVersion } from '../src/migrate/commands/force.js';
import { command, intOption, parse, run, usageError, withDatabaseOptions } from './lib/cli.js';
import { confirm } from './lib/confirm.js';
import { printDownSummary, printDryRun } from './lib/format/migrate.js';
import { interruptibleRun } from './lib/migration-run.js';

const cli = withDatabaseOptions(command('migrate:down', '[N | --to V | --all] [--yes] [--dry-run [--sql]]', 'Roll back one migration, N migrations, down to version V, or all.'))
  .option('--to <version>', 'roll back to this version (0 for none)', { type: [String] })
  .option('--all', 'roll back every migration (needs --yes)')
  .option('--yes', 'confirm --all without a prompt')
  .option('--dry-run', 'list what would run and change nothing')
  .option('--sql', 'with --dry-run: print each migration\'s SQL')
  .option('--ddl-lock-timeout <duration>', 'PostgreSQL lock_timeout of each migration, how long its DDL may queue for a table lock; not the migration lock (TIDEMARK_DDL_LOCK_TIMEOUT, default 5s, 0 sets none)')
  .option('--ddl-retries <n>', 'tries again a migration that timed out waiting for a table lock, up to N times (TIDEMARK_DDL_RETRIES, default 3)');

void run(async ({ out, settings }) => {
  const { args, options } = parse(cli);
  const chosen = [args.length > 0, options.to !== undefined, !!options.all].filter(Boolean).length;
  if (chosen > 1 || args.length > 1) throw usageError('read the command line', 'give one of N, --to V or --all');
  const count = args.length ? intOption(args[0], 'N', 1) : undefined;
  const toText = options.to === undefined ? undefined : String((options.to as string[]).at(-1));
  const to = toText === undefined ? undefined : parseVersionArgument(toText);
  if (toText !== undefined && to === undefined) throw invalidVersion('read --to', toText, 'a whole number from 0 to 9223372036854775807');
  const yes = await confirm(options.all && !options.dryRun ? 'Roll back ALL migrations? This drops what they created.' : undefined, !!options.yes);
  const { signal, onEvent } = interruptibleRun(out, !options.json);
  const report = await migrateDown(settings(options, { ddlLockTimeout: options.ddlLockTimeout as string | undefined, ddlRetries: options.ddlRetries as string | undefined }), {
    count, to, all: !!options.all, yes, dryRun: !!options.dryRun, sql: !!options.sql, onEvent, signal,
  });
  if (options.json) out.json(report);
  else if (report.dryRun) printDryRun(out, report, 'roll back');
  else printDownSummary(out, report);
});
