import { pitrInit } from '../src/index.js';
import { pitrSecrets } from '../src/pitr-settings.js';
import { command, parse, run } from './lib/cli.js';
import { pitrInput, printInit, withPitrOptions } from './lib/format/pitr.js';

const cli = withPitrOptions(command('pitr:init', '[--apply]', "Write pgBackRest's configuration for this cluster, create its stanza, and print (or --apply) the archive settings the server needs."))
  .option('--apply', 'set archive_mode and archive_command with ALTER SYSTEM (a superuser); archive_mode needs a restart');

void run(async ({ out, settings }) => {
  const { options } = parse(cli);
  const loaded = settings(options, pitrInput(options));
  out.hide(pitrSecrets(loaded.pitr));
  const result = await pitrInit(loaded, { apply: !!options.apply });
  if (options.json) return out.json(result);
  printInit(out, result);
});
