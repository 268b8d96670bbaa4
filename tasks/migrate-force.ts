import { invalidVersion } from '../src/migrate/commands/force.js';
import { migrateForce } from '../src/index.js';
import { parseVersionArgument } from '../src/migrate/source/parse.js';
import { command, parse, run, usageError, withDatabaseOptions } from './lib/cli.js';
import { versionText } from './lib/format/migrate.js';

const cli = withDatabaseOptions(command('migrate:force', 'V', 'Set the version to V and clear dirty without running SQL (-1 empties the table).'));

void run(async ({ out, settings }) => {
  const { args, options } = parse(cli);
  if (args.length !== 1) throw usageError('read the command line', 'give exactly one version', 'task migrate:force -- 7');
  const version = parseVersionArgument(args[0], -1n);
  if (version === undefined) throw invalidVersion('read the version', args[0], '-1 or a whole number from 0 to 9223372036854775807');
  const result = await migrateForce(settings(options), version);
  if (options.json) out.json(result);
  else out.line(`Forced version ${versionText(result.version)} (was ${versionText(result.previousVersion)}${result.previousDirty ? ', dirty' : ''})`);
});
