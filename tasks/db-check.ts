import { DEFAULT_CHECK_TIMEOUT_MS } from '../src/chores/check.js';
import { checkDatabase } from '../src/index.js';
import { parseDuration } from '../src/config.js';
import { command, listValues, parse, rawValues, run, withDatabaseOptions } from './lib/cli.js';
import { checkFailed, printCheckReport } from './lib/format/chores.js';
import { fleetSource, runFleetCommand, withFleetOptions } from './lib/fleet.js';
import { checkCommand } from '../src/fleet/commands.js';

const cli = withFleetOptions(withDatabaseOptions(command('db:check', '[--wait [--timeout D]] [--extension NAME]... [--min-version V] [--json]',
  'Check that the database is ready: connection, server version, extensions, CREATE privilege, migration state. Exits 1 if any check fails.'))
  .option('--wait', 'retry the connection until --timeout, while the server starts')
  .option('--timeout <duration>', 'how long to try to connect: 30s, 2m (default 60s)')
  .option('--extension <name>', 'require this extension, available and installed; repeatable (default TIDEMARK_REQUIRED_EXTENSIONS)')
  .option('--min-version <version>', 'the oldest server accepted, 18 or 16.4 (TIDEMARK_MIN_PG_VERSION)'));

void run(async (commandRun) => {
  const { out, settings } = commandRun;
  const { options } = parse(cli);
  const targets = fleetSource();
  if (targets) {
    const fleetCommand = checkCommand({
      wait: !!options.wait, timeoutMs: parseDuration(rawValues('--timeout').at(-1), DEFAULT_CHECK_TIMEOUT_MS, '--timeout'),
      extensions: listValues('--extension'), minServerVersion: rawValues('--min-version').at(-1),
    });
    return runFleetCommand(commandRun, options, targets, { command: fleetCommand });
  }
  let told = false;
  const report = await checkDatabase(settings(options), {
    wait: !!options.wait,
    timeoutMs: parseDuration(rawValues('--timeout').at(-1), DEFAULT_CHECK_TIMEOUT_MS, '--timeout'),
    extensions: listValues('--extension'),
    minServerVersion: rawValues('--min-version').at(-1),
    onRetry: (reason) => {
      if (!options.json && !told) out.warn(`waiting for the database: ${reason}`);
      told = true;
    },
  });
  if (options.json) out.json(report);
  else printCheckReport(out, report);
  if (!report.ok) throw checkFailed(report);
});
