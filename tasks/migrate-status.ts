import { migrateStatus } from '../src/index.js';
import { command, parse, run, withDatabaseOptions } from './lib/cli.js';
import { printStatus } from './lib/format/migrate.js';

const cli = withDatabaseOptions(command('migrate:status', '[--json] [--exit-code]', 'Show the version, pending migrations and problems.'))
  .option('--exit-code', 'exit 3 when anything is pending or wrong (for CI gates)');

void run(async ({ out, settings }) => {
  const { options } = parse(cli);
  const status = await migrateStatus(settings(options));
  if (options.json) out.json(status);
  else printStatus(out, status);
  if (options.exitCode && (status.pending.length || status.problems.length)) return 3;
});
