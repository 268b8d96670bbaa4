import { verifyBackup } from '../src/backup/verify.js';
import { backupSettings, command, out, parse, run, usageError, withBackupOptions } from './lib/cli.js';

const cli = withBackupOptions(command('backup:verify', 'backup:verify FILE | --latest [--restore-test]', 'Check a backup: checksum, a full read of the archive, optionally a test restore.'))
  .option('--latest', 'verify the newest backup in BACKUP_DIR')
  .option('--restore-test', 'restore into a scratch database, check the tables, drop it');

void run(async () => {
  const { args, options } = parse(cli);
  if ((args.length === 1) === !!options.latest || args.length > 1) throw usageError('read the command line', 'give one backup file, or --latest');
  const settings = backupSettings(options, !!options.restoreTest);
  const result = await verifyBackup(settings, options.latest ? { latest: true } : args[0], { restoreTest: !!options.restoreTest });
  if (options.json) return out.json(result);
  out.line(`${result.file}: OK`);
  out.line(`  checksum: ${result.checksum === 'ok' ? 'matches the manifest' : 'no manifest (not written by tidemark)'}`);
  out.line(`  full read: ${result.fullRead ? 'every byte of the archive read back' : 'plain SQL, nothing to decode'}`);
  if (result.restoreTest) out.line(`  restore test: ${result.restoreTest.tables} tables restored into a scratch database, then dropped`);
});
