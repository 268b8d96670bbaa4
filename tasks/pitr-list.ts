import { pitrList } from '../src/index.js';
import { pitrSecrets } from '../src/pitr-settings.js';
import { command, parse, run } from './lib/cli.js';
import { pitrInput, printList, withPitrOptions } from './lib/format/pitr.js';

const cli = withPitrOptions(command('pitr:list', '[--json]', 'The physical backups (type, label, times, sizes) and the recovery window, from pgbackrest info.'));

void run(async ({ out, settingsWithoutDatabase }) => {
  const { options } = parse(cli);
  const loaded = settingsWithoutDatabase(options, pitrInput(options));
  out.hide(pitrSecrets(loaded.pitr));
  const list = await pitrList(loaded);
  if (options.json) return out.json(list);
  printList(out, list);
});
