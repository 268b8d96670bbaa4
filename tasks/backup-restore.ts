import { restore } from '../src/index.js';
import { command, intOption, parse, run, usageError, withBackupOptions } from './lib/cli.js';
import { confirm } from './lib/confirm.js';
import { ms } from './lib/format/migrate.js';
import { interruptOnSignals } from './lib/signals.js';

const cli = withBackupOptions(command('backup:restore', 'FILE [--yes] [--clean] | FILE --new NAME [--jobs N] [--no-owner] [--single-transaction]', 'Restore a backup into the database of DATABASE_URL (all or nothing), or into a new database.'))
  .option('--new <name>', 'restore into a new database NAME (made under a temporary name, renamed when done)', { type: [String] })
  .option('--yes', 'confirm restoring into the existing database')
  .option('--clean', 'drop objects before recreating them (with --if-exists)')
  .option('--jobs <n>', 'parallel restore jobs (with --new; custom or directory archives)')
  .option('--no-owner', 'do not restore object ownership')
  .option('--single-transaction', 'with --new: restore in one transaction too');

void run(async ({ out, backupSettings }) => {
  const { args, options } = parse(cli);
  if (args.length !== 1) throw usageError('read the command line', args.length ? 'give one backup file' : 'no backup file given', 'task backup:restore -- backups/app_20260101_020000.dump --new app_copy');
  const settings = backupSettings(options);
  const newDatabase = options.new === undefined ? undefined : String((options.new as string[]).at(-1));
  const question = newDatabase ? undefined : `Restore ${args[0]} into ${settings.database!.database}? Existing data may be overwritten.`;
  const yes = await confirm(question, !!options.yes);
  const interrupts = interruptOnSignals(out, { stopping: newDatabase ? 'stopping the restore and dropping the new database' : 'stopping the restore and rolling it back' });
  interrupts.onSecond(() => (newDatabase
    ? `a temporary database tidemark_restoring_${process.pid}_… may remain; a later restore drops it`
    : `the server rolls the restore's transaction back: ${settings.database!.database} keeps its contents`));
  const result = await restore(settings, args[0], {
    newDatabase, yes, clean: !!options.clean, jobs: intOption(options.jobs, '--jobs', 1), noOwner: options.owner === false, singleTransaction: !!options.singleTransaction, signal: interrupts.signal,
  });
  for (const warning of result.warnings) out.warn(`warning: ${warning}`);
  if (options.json) return out.json(result);
  const encoding = result.created && result.encoding ? ` (${result.encoding})` : '';
  out.line(`Restored ${result.file} (${result.type}) into ${result.created ? 'new database ' : ''}${result.database}${encoding} in ${ms(result.durationMs)}`);
});
