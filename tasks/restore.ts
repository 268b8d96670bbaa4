import { restore } from '../src/backup/restore.js';
import { backupSettings, command, confirm, intOption, out, parse, run, usageError, withBackupOptions } from './lib/cli.js';
import { ms } from './lib/format.js';

const cli = withBackupOptions(command('restore', 'restore FILE [--yes] [--clean] | restore FILE --new NAME  [--jobs N] [--no-owner] [--single-transaction]', 'Restore a backup into the database of DATABASE_URL, or into a new database.'))
  .option('--new <name>', 'create this database from template0 and restore into it', { type: [String] })
  .option('--yes', 'confirm restoring into the existing database')
  .option('--clean', 'drop objects before recreating them (with --if-exists)')
  .option('--jobs <n>', 'parallel restore jobs (custom or directory archives)')
  .option('--no-owner', 'do not restore object ownership')
  .option('--single-transaction', 'all or nothing');

void run(async () => {
  const { args, options } = parse(cli);
  if (args.length !== 1) throw usageError('read the command line', args.length ? 'give one backup file' : 'no backup file given', 'task restore -- backups/app_20260101_020000.dump --new app_copy');
  const settings = backupSettings(options);
  const newDatabase = options.new === undefined ? undefined : String((options.new as string[]).at(-1));
  const yes = !!options.yes || (!newDatabase && (await confirm(`Restore ${args[0]} into ${settings.database!.database}? Existing data may be overwritten.`)));
  const result = await restore(settings, args[0], {
    newDatabase, yes, clean: !!options.clean, jobs: intOption(options.jobs, '--jobs', 1), noOwner: options.owner === false, singleTransaction: !!options.singleTransaction,
  });
  for (const warning of result.warnings) out.warn(`warning: ${warning}`);
  if (options.json) return out.json(result);
  out.line(`Restored ${result.file} (${result.type}) into ${result.created ? 'new database ' : ''}${result.database} in ${ms(result.durationMs)}`);
});
