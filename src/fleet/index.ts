/**
 * The fleet's API: one command over many databases or tenant schemas. The
 * command line's --targets/--targets-sql call the same functions.
 */
import type { SettingsWithoutDatabase } from '../config.js';
import type { MigrateOptions } from '../migrate/commands/migrate.js';
import { migrateCommand, type FleetCommand } from './commands.js';
import type { FleetReport } from './report.js';
import { runFleet, type FleetOptions } from './run.js';
import { loadTargets, type TargetSource } from './sources.js';
import type { FleetTarget } from './targets.js';

export { migrateCommand, statusCommand, verifyCommand, backupCommand, checkCommand, type FleetCommand, type TargetOutcome } from './commands.js';
export { runFleet, effectiveParallel, DEFAULT_PARALLEL, DEFAULT_MAX_CONNECTIONS, type FleetOptions, type FleetEvent } from './run.js';
export { loadTargets, readTargetsFile, queryTargets, type TargetSource } from './sources.js';
export { parseTargetsText, schemaTarget, type FleetTarget, type TargetList } from './targets.js';
export { fleetFailedError, FLEET_COMMANDS, type FleetReport, type TargetResult, type TargetState, type TargetError, type FleetCounts, type FleetCommandName } from './report.js';
export { reportJson } from './report-file.js';

/** Targets as a source to load (a file, a query) or a list already loaded. */
export type Targets = TargetSource | FleetTarget[];

/** Loads the targets when given a source, and runs the command on them; their passwords are masked in the report file. */
export async function fleet(settings: SettingsWithoutDatabase, targets: Targets, command: FleetCommand, options: FleetOptions = {}): Promise<FleetReport> {
  if (Array.isArray(targets)) return runFleet(settings, targets, command, options);
  const loaded = await loadTargets(settings, targets);
  return runFleet(settings, loaded.targets, command, { ...options, secrets: [...(options.secrets ?? []), ...loaded.secrets] });
}

export type MigrateFleetOptions = FleetOptions & Omit<MigrateOptions, 'signal' | 'onEvent' | 'dryRun' | 'sql' | 'source'>;

/** `migrate` on every target: each exactly as `migrate` with that target as DATABASE_URL. */
export function migrateFleet(settings: SettingsWithoutDatabase, targets: Targets, options: MigrateFleetOptions = {}): Promise<FleetReport> {
  const { steps, allowOutOfOrder, ignoreChecksums, target, ...fleetOptions } = options;
  return fleet(settings, targets, migrateCommand({ steps, allowOutOfOrder, ignoreChecksums, target }), fleetOptions);
}
