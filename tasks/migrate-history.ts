import { migrateHistory } from '../src/index.js';
import { command, parse, run, withDatabaseOptions } from './lib/cli.js';
import { printHistory } from './lib/format/migrate.js';

const cli = withDatabaseOptions(command('migrate:history', '[--json]', 'Every migration, applied or pending, newest first, with (current), when, how long and by whom.'));

void run(async ({ out, settings }) => {
  const { options } = parse(cli);
  const history = await migrateHistory(settings(options));
  if (options.json) out.json(history);
  else printHistory(out, history);
});
