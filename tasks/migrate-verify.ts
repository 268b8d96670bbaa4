import { verifyMigrations, parseDatabaseUrl } from '../src/index.js';
import { parseVersionArgument } from '../src/migrate/source/parse.js';
import { urlSecrets } from '../src/connection-string.js';
import { command, parse, rawValues, run, usageError, withDatabaseOptions } from './lib/cli.js';
import { printCheck, printVerifySummary } from './lib/format/verify.js';
import { interruptOnSignals } from './lib/signals.js';
import { fleetSource, runFleetCommand, withFleetOptions } from './lib/fleet.js';
import { verifyCommand } from '../src/fleet/commands.js';

const cli = withFleetOptions(withDatabaseOptions(command('migrate:verify', '[--all | --from V --to W] [--schema-from FILE | --schema-from-database URL] [--server URL] [--owners] [--read-whole]', 'Prove in a scratch database that every down migration undoes its up.'))
  .option('--all', 'check every migration (default: those pending in the configured database)')
  .option('--from <version>', 'check migrations from this version on')
  .option('--to <version>', 'check migrations up to this version')
  .option('--schema-from <file>', 'start from the schema of this backup (schema only) instead of an empty database')
  .option('--schema-from-database <url>', 'start from the schema of this database (read only) instead of an empty database')
  .option('--server <url>', 'make the scratch database on this server (default: the configured database\'s)')
  .option('--owners', 'compare object owners too')
  .option('--read-whole', 'read the whole schema at every turn instead of what each step changed (slower)'));

function versionFlag(flag: string): bigint | undefined {
  const text = rawValues(flag).at(-1);
  if (text === undefined) return undefined;
  const version = parseVersionArgument(text);
  if (version === undefined) throw usageError(`read ${flag}`, `"${text}" is not a migration version`);
  return version;
}

void run(async (commandRun) => {
  const { out, settings } = commandRun;
  const { args, options } = parse(cli);
  if (args.length) throw usageError('read the command line', `unexpected argument ${args[0]}`, 'task migrate:verify -- --all');
  const targets = fleetSource();
  if (targets) {
    if (rawValues('--schema-from').length || rawValues('--schema-from-database').length || rawValues('--server').length) {
      throw usageError('read the command line', '--schema-from, --schema-from-database and --server do not apply to a fleet run', 'each target is verified from its own server');
    }
    const fleetCommand = verifyCommand({ all: !!options.all, from: versionFlag('--from'), to: versionFlag('--to'), owners: !!options.owners, readWhole: !!options.readWhole });
    return runFleetCommand(commandRun, options, targets, { command: fleetCommand });
  }
  const [serverUrl, schemaUrl] = [rawValues('--server').at(-1), rawValues('--schema-from-database').at(-1)];
  out.hide([...urlSecrets(serverUrl), ...urlSecrets(schemaUrl)]);
  const loaded = settings(options);
  const target = (url: string | undefined) => (url === undefined ? undefined : parseDatabaseUrl(url, { connectTimeoutMs: loaded.database.connectTimeoutMs }));
  const interrupts = interruptOnSignals(out, { stopping: 'stopping the check and dropping the scratch database' });
  let scratch: string | undefined;
  interrupts.onSecond(() => (scratch ? `the scratch database ${scratch} remains; the next migrate:verify drops it` : undefined));
  const report = await verifyMigrations(loaded, {
    all: !!options.all, from: versionFlag('--from'), to: versionFlag('--to'),
    schemaFrom: rawValues('--schema-from').at(-1), schemaFromDatabase: target(schemaUrl), server: target(serverUrl), owners: !!options.owners, readWhole: !!options.readWhole, signal: interrupts.signal,
    onEvent: (event) => {
      if (event.type === 'scratch') {
        scratch = event.database;
        for (const name of event.swept) out.warn(`dropped ${name}, a scratch database left by a run that is gone`);
      } else if (event.type === 'missed') {
        out.warn(`the scratch database's DDL record missed changes (${event.differences.join('; ')}); checking again, reading the whole schema at every turn`);
      } else if (!options.json) printCheck(out, event.check);
    },
  });
  if (options.json) out.json(report);
  else printVerifySummary(out, report);
  return report.ok ? 0 : 1;
});
