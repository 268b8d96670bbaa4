import { pitrBackup } from '../src/index.js';
import { pitrSecrets } from '../src/pitr-settings.js';
import { command, parse, run, usageError } from './lib/cli.js';
import { interruptOnSignals } from './lib/signals.js';
import { pitrInput, printBackup, withPitrOptions } from './lib/format/pitr.js';

const cli = withPitrOptions(command('pitr:backup', '[--type full|diff|incr] [--tag TEXT]', 'Take a physical backup with pgBackRest and record its manifest in BACKUP_DIR.'))
  .option('--type <type>', "full, diff or incr (default: pgBackRest's choice, incr after the first full)")
  .option('--tag <text>', 'label the backup; "pre-deploy:..." or "pin:..." pins it against pitr:prune\'s GFS rules', { type: [String] });

void run(async ({ out, settings }) => {
  const { options } = parse(cli);
  const type = options.type === undefined ? undefined : String(options.type);
  if (type !== undefined && !['full', 'diff', 'incr'].includes(type)) throw usageError('read --type', `"${type}" is not full, diff or incr`);
  const loaded = settings(options, pitrInput(options));
  out.hide(pitrSecrets(loaded.pitr));
  const interrupts = interruptOnSignals(out, { stopping: 'stopping pgBackRest' });
  interrupts.onSecond(() => 'pgBackRest may still be stopping; the next pitr:backup resumes or removes its partial backup');
  const result = await pitrBackup(loaded, {
    type: type as 'full' | 'diff' | 'incr' | undefined,
    tag: options.tag === undefined ? undefined : String((options.tag as string[]).at(-1)),
    signal: interrupts.signal,
  });
  if (options.json) out.json(result);
  else printBackup(out, result);
  const stopped = interrupts.exitCode();
  if (stopped) {
    out.warn('the signal came after the backup was finished: it is kept, with its manifest');
    return stopped;
  }
});
