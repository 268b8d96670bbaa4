import { DEFAULT_STATS_LIMIT } from '../src/chores/stats.js';
import { databaseStats } from '../src/index.js';
import { command, intOption, parse, run, withDatabaseOptions } from './lib/cli.js';
import { printStats } from './lib/format/chores.js';

const cli = withDatabaseOptions(command('db:stats', '[--limit N] [--json]',
  'The largest tables (live row estimate, total size, last vacuum and analyze) and the migration version.'))
  .option('--limit <n>', `how many tables (default ${DEFAULT_STATS_LIMIT})`);

void run(async ({ out, settings }) => {
  const { options } = parse(cli);
  const stats = await databaseStats(settings(options), { limit: intOption(options.limit, '--limit', 1) });
  if (options.json) out.json(stats);
  else printStats(out, stats);
});
