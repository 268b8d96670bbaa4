import { pitrRestore } from '../src/index.js';
import { pitrSecrets } from '../src/pitr-settings.js';
import { command, intOption, parse, run } from './lib/cli.js';
import { confirm } from './lib/confirm.js';
import { interruptOnSignals } from './lib/signals.js';
import { pitrInput, printRestore, text, withPitrOptions } from './lib/format/pitr.js';

const cli = withPitrOptions(command('pitr:restore', '[--to TIME | --lsn LSN | --xid XID | --immediate] --target-dir DIR [--start [--port N]] | ... --in-place --yes', 'Restore the cluster to a point in time with pgBackRest, into a new directory (or in place, with the server stopped).'))
  .option('--to <time>', 'recover up to this time (ISO 8601; without a zone: local time)')
  .option('--lsn <lsn>', 'recover up to this WAL location')
  .option('--xid <xid>', 'recover up to this transaction')
  .option('--immediate', 'stop as soon as the backup is consistent')
  .option('--target-dir <dir>', 'a new or empty directory to restore into')
  .option('--start', 'start the restored copy (127.0.0.1, archiving off) and wait for its recovery')
  .option('--port <n>', 'the port of the started copy (default: a free one)')
  .option('--in-place', "restore over the server's own data directory (the server stopped; asks first)")
  .option('--yes', 'confirm a restore in place');

void run(async ({ out, settingsWithoutDatabase }) => {
  const { options } = parse(cli);
  const loaded = settingsWithoutDatabase(options, pitrInput(options));
  out.hide(pitrSecrets(loaded.pitr));
  const question = options.inPlace ? 'Restore the cluster in place? Every file of its data directory is replaced (the server must be stopped).' : undefined;
  const yes = await confirm(question, !!options.yes);
  const interrupts = interruptOnSignals(out, { stopping: 'stopping pgBackRest\'s restore' });
  interrupts.onSecond(() => 'the target directory holds a partial restore: do not start it');
  const result = await pitrRestore(loaded, {
    to: text(options.to), lsn: text(options.lsn), xid: text(options.xid), immediate: !!options.immediate,
    targetDir: text(options.targetDir), inPlace: !!options.inPlace, yes, start: !!options.start, port: intOption(options.port, '--port', 1), signal: interrupts.signal,
  });
  if (options.json) return out.json(result);
  printRestore(out, result);
});
