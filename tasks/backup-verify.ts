import { verifyBackup } from '../src/index.js';
import { command, parse, run, usageError, withBackupOptions } from './lib/cli.js';
import { interruptOnSignals } from './lib/signals.js';

const cli = withBackupOptions(command('backup:verify', 'FILE | --latest [--restore-test]', 'Check a backup: checksum, a full read of the archive, optionally a test restore.'))
  .option('--latest', 'verify the newest backup in BACKUP_DIR')
  .option('--restore-test', 'restore into a scratch database, read every table back, drop it');

void run(async ({ out, backupSettings }) => {
  const { args, options } = parse(cli);
  if ((args.length === 1) === !!options.latest || args.length > 1) throw usageError('read the command line', 'give one backup file, or --latest');
  const settings = backupSettings(options, !!options.restoreTest);
  const interrupts = interruptOnSignals(out, { stopping: 'stopping the test restore and dropping its scratch database' });
  interrupts.onSecond(() => `a scratch database tidemark_verify_${process.pid}_… may remain; a later restore or verify drops it`);
  const result = await verifyBackup(settings, options.latest ? { latest: true } : args[0], { restoreTest: !!options.restoreTest, signal: interrupts.signal });
  for (const warning of result.warnings) out.warn(`warning: ${warning}`);
  if (options.json) return out.json(result);
  out.line(`${result.file}: OK`);
  out.line(`  checksum: ${result.checksum === 'ok' ? 'matches the manifest' : 'no manifest (not written by tidemark)'}`);
  out.line(`  full read: ${result.fullRead ? 'every byte of the archive read back' : 'plain SQL, nothing to decode'}`);
  const test = result.restoreTest;
  if (test) out.line(`  restore test: ${test.tables} tables restored into a scratch database${test.encoding ? ` (${test.encoding})` : ''}, ${test.rows} rows read back, then dropped`);
});
