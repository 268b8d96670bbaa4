import { formatVersion, migrateVersion } from '../src/index.js';
import { command, out, parse, run, settings, withDatabaseOptions } from './lib/cli.js';

const cli = withDatabaseOptions(command('migrate:version', 'migrate:version', 'Print the current version: N, N (dirty), or none.'));

void run(async () => {
  const { options } = parse(cli);
  const version = await migrateVersion(settings(options));
  if (options.json) out.json(version);
  else out.line(formatVersion(version));
});
