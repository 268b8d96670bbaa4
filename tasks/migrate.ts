import { migrate } from '../src/index.js';
import { command, intOption, parse, run, withDatabaseOptions } from './lib/cli.js';
import { printDryRun, printUpSummary } from './lib/format/migrate.js';
import { interruptibleRun } from './lib/migration-run.js';

const cli = withDatabaseOptions(command('migrate', '[--steps N] [--dry-run [--sql]]', 'Apply pending migrations in version order.'))
  .option('--steps <n>', 'apply at most N migrations')
  .option('--dry-run', 'list what would run and change nothing')
  .option('--sql', 'with --dry-run: print each migration\'s SQL')
  .option('--allow-out-of-order', 'apply pending migrations numbered below the current version')
  .option('--ignore-checksums', 'run even if an applied migration\'s file changed');

void run(async ({ out, settings }) => {
  const { options } = parse(cli);
  const { signal, onEvent } = interruptibleRun(out, !options.json);
  const report = await migrate(settings(options), {
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
