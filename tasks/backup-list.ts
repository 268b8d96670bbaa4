import { listBackups } from '../src/index.js';
import { command, parse, run, withBackupOptions } from './lib/cli.js';
import { printList } from './lib/format/backup.js';

const cli = withBackupOptions(command('backup:list', '[--json]', 'The backups in BACKUP_DIR: kind, size, age, versions, schema version, tag, verified.'));

void run(async ({ out, backupSettings }) => {
  const { options } = parse(cli);
  const entries = await listBackups(backupSettings(options, false));
  if (options.json) out.json(entries);
  else printList(out, entries);
});
