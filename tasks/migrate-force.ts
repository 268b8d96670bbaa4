import { invalidVersion } from '../src/migrate/commands/force.js';
import { migrateForce, TidemarkError } from '../src/index.js';
import { parseVersionArgument } from '../src/migrate/source/parse.js';
import { command, parse, run, usageError, withDatabaseOptions } from './lib/cli.js';
import { confirm } from './lib/confirm.js';
import { versionText } from './lib/format/migrate.js';

const cli = withDatabaseOptions(command('migrate:force', 'V [--yes]', 'Set the version to V and clear dirty without running SQL (-1 empties the table).'))
  .option('--yes', 'confirm without a prompt');

void run(async ({ out, settings }) => {
  const { args, options } = parse(cli);
  if (args.length !== 1) throw usageError('read the command line', 'give exactly one version', 'task migrate:force -- 7');
  const version = parseVersionArgument(args[0], -1n);
  if (version === undefined) throw invalidVersion('read the version', args[0], '-1 or a whole number from 0 to 9223372036854775807');
  const config = settings(options);
  // The recorded version is what every later run trusts: a wrong one skips migrations or runs them twice.
  const question = version === -1n
    ? 'Empty the version table (no migration recorded as applied), running no SQL?'
    : `Record version ${version} as the current one and clear dirty, running no SQL?`;
  if (!(await confirm(question, !!options.yes))) {
    throw new TidemarkError('CONFIRMATION_REQUIRED', 'forcing the version needs confirmation', {
      operation: 'force the version', cause: 'later runs trust the recorded version: a wrong one skips migrations or runs them twice', hint: 'pass --yes (or answer the prompt on a terminal)',
    });
  }
  const result = await migrateForce(config, version);
  if (options.json) out.json(result);
  else out.line(`Forced version ${versionText(result.version)} (was ${versionText(result.previousVersion)}${result.previousDirty ? ', dirty' : ''})`);
});
