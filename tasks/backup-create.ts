import { backup, DEFAULT_RETENTION, pruneBackups } from '../src/index.js';
import { command, intOption, parse, run, usageError, withBackupOptions } from './lib/cli.js';
import { interruptOnSignals } from './lib/signals.js';
import { bytes, printPrune } from './lib/format/backup.js';
import { ms } from './lib/format/migrate.js';
import { fleetSource, runFleetCommand, withFleetOptions } from './lib/fleet.js';
import { backupCommand } from '../src/fleet/commands.js';

const cli = withFleetOptions(withBackupOptions(command('backup:create', '[--schema-only | --data-only] [--format directory --jobs N] [--compress X] [--tag TEXT] [--prune]', 'Dump the database of DATABASE_URL into BACKUP_DIR, atomically, with a manifest and a verified read-back.'))
  .option('--schema-only', 'dump only the schema (<db>_<ts>_schema.dump)')
  .option('--data-only', 'dump only the data (<db>_<ts>_data.dump)')
  .option('--format <format>', 'custom (default) or directory')
  .option('--jobs <n>', 'parallel dump jobs (directory format)')
  .option('--compress <method>', 'passed to pg_dump --compress: 0-9, or gzip/lz4/zstd[:level] with pg_dump 16+', { type: [String] })
  .option('--tag <text>', 'label the backup; "pre-deploy:..." or "pin:..." pins it against pruning', { type: [String] })
  .option('--no-verify', 'skip reading the archive back while it is written')
  .option('--prune', 'after a successful backup, apply retention (backup:prune defaults)'));

void run(async (commandRun) => {
  const { out, backupSettings } = commandRun;
  const { options } = parse(cli);
  if (options.schemaOnly && options.dataOnly) throw usageError('read the command line', 'give at most one of --schema-only and --data-only');
  const format = options.format === undefined ? undefined : String(options.format);
  if (format !== undefined && format !== 'custom' && format !== 'directory') throw usageError('read --format', `"${format}" is not custom or directory`);
  const dump = {
    kind: options.schemaOnly ? 'schema' : options.dataOnly ? 'data' : 'full',
    format: format as 'custom' | 'directory' | undefined,
    jobs: intOption(options.jobs, '--jobs', 1),
    compress: options.compress === undefined ? undefined : String((options.compress as string[]).at(-1)),
    tag: options.tag === undefined ? undefined : String((options.tag as string[]).at(-1)),
    verify: options.verify !== false,
  } as const;
  const targets = fleetSource();
  if (targets) return runFleetCommand(commandRun, options, targets, { command: backupCommand({ ...dump, prune: !!options.prune }) });
  const settings = backupSettings(options);
  const interrupts = interruptOnSignals(out, { stopping: 'stopping pg_dump and removing the partial file' });
  interrupts.onSecond(() => 'the partial file may be left; the next backup of this database removes it');
  const result = await backup(settings, { ...dump, signal: interrupts.signal });
  const m = result.manifest;
  if (options.json) out.json(result);
  else {
    out.line(result.path);
    out.line(`  size ${bytes(m.size)}, ${ms(m.durationMs)}, sha256 ${m.sha256}`);
    out.line(`  PostgreSQL ${m.serverVersion}, pg_dump ${m.pgDumpVersion}, schema version ${m.schemaVersion?.version ?? 'none'}${m.tag ? `, tag ${m.tag}${m.pinned ? ' (pinned)' : ''}` : ''}`);
    out.line(result.verified ? '  verified: the whole archive was read back' : result.verifyError ? '  NOT verified' : '  not verified (--no-verify)');
  }
  if (result.verifyError) {
    out.warn(`BACKUP_VERIFY_FAILED: the new backup could not be read back\n  operation: verify ${m.file}\n  error: ${result.verifyError}`);
    return 1;
  }
  // A signal that came while the manifest was written found the backup finished: it is kept, and the exit status still says what stopped the run.
  const stopped = interrupts.exitCode();
  if (stopped) {
    out.warn('the signal came after the backup was finished: it is kept; nothing else was done');
    return stopped;
  }
  if (options.prune) printPrune(out, await pruneBackups(settings, DEFAULT_RETENTION), !!options.json);
});
