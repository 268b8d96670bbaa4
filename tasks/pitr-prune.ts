import { DEFAULT_RETENTION, pitrPrune, type PitrPrunePolicy } from '../src/index.js';
import { pitrSecrets } from '../src/pitr-settings.js';
import { command, intOption, parse, run, usageError, type Options } from './lib/cli.js';
import { pitrInput, printPrune, withPitrOptions } from './lib/format/pitr.js';

const cli = withPitrOptions(command('pitr:prune', '[--keep-full N [--keep-diff M] | --keep-last N --keep-daily D --keep-weekly W --keep-monthly M] [--dry-run]', 'Expire physical backups by count (pgBackRest\'s retention) or by the GFS rules of backup:prune; WAL follows.'))
  .option('--keep-full <n>', 'keep the newest N full backups (and what depends on them)')
  .option('--keep-diff <n>', 'keep the newest N differential backups')
  .option('--keep-last <n>', `GFS: keep the newest N full backups (default ${DEFAULT_RETENTION.keepLast})`)
  .option('--keep-daily <n>', `GFS: the newest full of each of the last D days (default ${DEFAULT_RETENTION.keepDaily})`)
  .option('--keep-weekly <n>', `GFS: same for ISO weeks (default ${DEFAULT_RETENTION.keepWeekly})`)
  .option('--keep-monthly <n>', `GFS: same for months (default ${DEFAULT_RETENTION.keepMonthly})`)
  .option('--dry-run', 'print what would be expired');

function policyOf(options: Options, retentionFull: number | undefined): PitrPrunePolicy {
  const byCount = options.keepFull !== undefined || options.keepDiff !== undefined;
  const gfs = ['keepLast', 'keepDaily', 'keepWeekly', 'keepMonthly'].some((k) => options[k] !== undefined);
  if (byCount && gfs) throw usageError('read the command line', 'give either --keep-full/--keep-diff or the GFS flags, not both');
  if (byCount || (!gfs && retentionFull !== undefined)) {
    const keepFull = intOption(options.keepFull, '--keep-full', 1) ?? retentionFull;
    if (keepFull === undefined) throw usageError('read --keep-diff', '--keep-diff needs --keep-full (or PITR_RETENTION_FULL)');
    return { by: 'count', keepFull, keepDiff: intOption(options.keepDiff, '--keep-diff', 1) };
  }
  return {
    by: 'gfs',
    policy: {
      keepLast: intOption(options.keepLast, '--keep-last', 0) ?? DEFAULT_RETENTION.keepLast,
      keepDaily: intOption(options.keepDaily, '--keep-daily', 0) ?? DEFAULT_RETENTION.keepDaily,
      keepWeekly: intOption(options.keepWeekly, '--keep-weekly', 0) ?? DEFAULT_RETENTION.keepWeekly,
      keepMonthly: intOption(options.keepMonthly, '--keep-monthly', 0) ?? DEFAULT_RETENTION.keepMonthly,
    },
  };
}

void run(async ({ out, settingsWithoutDatabase }) => {
  const { options } = parse(cli);
  const loaded = settingsWithoutDatabase(options, pitrInput(options));
  out.hide(pitrSecrets(loaded.pitr));
  const result = await pitrPrune(loaded, policyOf(options, loaded.pitr.retentionFull), { dryRun: !!options.dryRun });
  if (options.json) return out.json(result);
  printPrune(out, result);
});
