import { migrateStatus } from '../src/index.js';
import type { FleetReport } from '../src/fleet/report.js';
import { command, parse, run, withDatabaseOptions } from './lib/cli.js';
import { printStatus } from './lib/format/migrate.js';
import { fleetSource, runFleetCommand, withFleetOptions } from './lib/fleet.js';
import { statusCommand } from '../src/fleet/commands.js';

const cli = withFleetOptions(withDatabaseOptions(command('migrate:status', '[--json] [--exit-code]', 'Show the version, pending migrations and problems.'))
  .option('--exit-code', 'exit 3 when anything is pending or wrong (for CI gates)'));

void run(async (commandRun) => {
  const { out, settings } = commandRun;
  const { options } = parse(cli);
  const targets = fleetSource();
  if (targets) {
    // --exit-code: 3 when any target has a migration pending or a problem, as for one database.
    const exitCode = (report: FleetReport) => (options.exitCode && report.targets.some((t) => t.detail?.pending || (t.detail?.problems as unknown[] | undefined)?.length) ? 3 : undefined);
    return runFleetCommand(commandRun, options, targets, { command: statusCommand(), exitCode });
  }
  const status = await migrateStatus(settings(options));
  if (options.json) out.json(status);
  else printStatus(out, status);
  if (options.exitCode && (status.pending.length || status.problems.length)) return 3;
});
