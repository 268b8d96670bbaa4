import { pitrVerify } from '../src/index.js';
import { pitrSecrets } from '../src/pitr-settings.js';
import { command, parse, run } from './lib/cli.js';
import { interruptOnSignals } from './lib/signals.js';
import { pitrInput, printVerify, withPitrOptions } from './lib/format/pitr.js';

const cli = withPitrOptions(command('pitr:verify', '[--restore-test]', 'pgbackrest verify of the repository; with --restore-test, restore the latest backup into a scratch directory, start it, query it, remove it.'))
  .option('--restore-test', 'rehearse a restore: scratch data directory, free port, recovery, a query, then stop and remove');

void run(async ({ out, settingsWithoutDatabase }) => {
  const { options } = parse(cli);
  const loaded = settingsWithoutDatabase(options, pitrInput(options));
  out.hide(pitrSecrets(loaded.pitr));
  const interrupts = interruptOnSignals(out, { stopping: 'stopping the verify (and the rehearsal: its server and scratch directory)' });
  interrupts.onSecond(() => 'a scratch directory tidemark-pitr-rehearsal-… may remain in the temporary directory, and its server may run: stop it with pg_ctl and remove it');
  const result = await pitrVerify(loaded, { restoreTest: !!options.restoreTest, signal: interrupts.signal });
  if (options.json) return out.json(result);
  printVerify(out, result);
});
