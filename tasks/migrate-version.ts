import { formatVersion, migrateVersion } from '../src/index.js';
import { command, parse, run, withDatabaseOptions } from './lib/cli.js';

const cli = withDatabaseOptions(command('migrate:version', '[--json]', 'Print the current version: N, N (dirty), or none.'));

void run(async ({ out, settings }) => {
  const { options } = parse(cli);
  const version = await migrateVersion(settings(options));
  if (options.json) out.json(version);
  else out.line(formatVersion(version));
});
