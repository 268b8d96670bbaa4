import { runBackfill, parseScope } from '../src/index.js';
import { DEFAULT_BATCH_SIZE } from '../src/backfill/run.js';
import { command, intOption, parse, rawValues, run, usageError, withConnectionOptions } from './lib/cli.js';
import { printBackfillReport, progressPrinter } from './lib/format/backfill.js';
import { stopOnSignals } from './lib/signals.js';

const cli = withConnectionOptions(command('backfill', 'NAME [--dry-run] [--scope KEY=VALUE]... [--batch-size N] [--sleep MS] [--restart] [-q]',
  'Run backfills/NAME.ts in batches, each in its own transaction with a checkpoint: a stopped or killed run resumes. SIGINT/SIGTERM stop it after the batch in flight.'))
  .option('--dry-run', 'count the rows it would change, and change nothing')
  .option('--scope <key=value>', 'only rows matching KEY=VALUE; repeatable; keys the backfill declares')
  .option('--batch-size <n>', `rows per batch (default ${DEFAULT_BATCH_SIZE})`)
  .option('--sleep <ms>', 'pause between batches, in milliseconds (default 0)')
  .option('--restart', 'begin again instead of resuming an unfinished run')
  .option('-q, --quiet', 'print nothing but errors')
  .option('--backfills-dir <dir>', 'where backfills live (BACKFILLS_DIR, default ./backfills)')
  .option('--batch-lock-timeout <duration>', 'lock_timeout in each batch (TIDEMARK_BACKFILL_LOCK_TIMEOUT, default 5s)')
  .option('--batch-statement-timeout <duration>', 'statement_timeout in each batch (TIDEMARK_BACKFILL_STATEMENT_TIMEOUT, default 60s)');

void run(async ({ out, settings }) => {
  const { args, options } = parse(cli);
  if (args.length !== 1) throw usageError('read the command line', args.length ? 'give one backfill name' : 'no backfill name given', 'task backfill -- NAME --dry-run');
  const quiet = !!options.quiet;
  const config = settings(options, {
    backfillsDir: options.backfillsDir as string | undefined,
    backfillLockTimeout: rawValues('--batch-lock-timeout').at(-1),
    backfillStatementTimeout: rawValues('--batch-statement-timeout').at(-1),
  });
  const stop = stopOnSignals(out, quiet);
  const progress = quiet || options.json ? undefined : progressPrinter(out, !!process.stdout.isTTY);
  const report = await runBackfill(config, args[0], {
    scope: parseScope(rawValues('--scope')),
    batchSize: intOption(options.batchSize, '--batch-size', 1),
    sleepMs: intOption(options.sleep, '--sleep', 0),
    dryRun: !!options.dryRun,
    restart: !!options.restart,
    estimate: !!progress,
    signal: stop.signal,
    onEvent: progress?.onEvent,
  });
  progress?.finish();
  if (options.json) out.json(report);
  else if (!quiet) printBackfillReport(out, report);
  return stop.exitCode();
});
