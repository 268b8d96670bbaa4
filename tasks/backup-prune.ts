import { pruneBackups, DEFAULT_RETENTION } from '../src/index.js';
import { command, intOption, parse, run, withBackupOptions } from './lib/cli.js';
import { printPrune } from './lib/format/backup.js';

const cli = withBackupOptions(command('backup:prune', '[--keep-last N] [--keep-daily D] [--keep-weekly W] [--keep-monthly M] [--dry-run]', 'Delete old backups by retention, never a pinned one, the newest verified one, or a file tidemark did not write.'))
  .option('--keep-last <n>', `keep the newest N (default ${DEFAULT_RETENTION.keepLast})`)
  .option('--keep-daily <n>', `keep the newest of each of the last D days with a backup (default ${DEFAULT_RETENTION.keepDaily})`)
  .option('--keep-weekly <n>', `same for ISO weeks (default ${DEFAULT_RETENTION.keepWeekly})`)
  .option('--keep-monthly <n>', `same for months (default ${DEFAULT_RETENTION.keepMonthly})`)
  .option('--dry-run', 'print what would be deleted');

void run(async ({ out, backupSettings }) => {
  const { options } = parse(cli);
  const policy = {
    keepLast: intOption(options.keepLast, '--keep-last', 0) ?? DEFAULT_RETENTION.keepLast,
    keepDaily: intOption(options.keepDaily, '--keep-daily', 0) ?? DEFAULT_RETENTION.keepDaily,
    keepWeekly: intOption(options.keepWeekly, '--keep-weekly', 0) ?? DEFAULT_RETENTION.keepWeekly,
    keepMonthly: intOption(options.keepMonthly, '--keep-monthly', 0) ?? DEFAULT_RETENTION.keepMonthly,
  };
  printPrune(out, await pruneBackups(backupSettings(options, false), policy, { dryRun: !!options.dryRun }), !!options.json);
});
