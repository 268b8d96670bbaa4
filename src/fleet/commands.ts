/**
 * What each command does on one target of a fleet: it calls the core
 * function of the single-database command, in this process, with the
 * target's settings, so that each target runs exactly as the single command
 * would (its own connection, lock, transactions and history).
 */
import path from 'node:path';
import { settingsForDatabase, type Settings, type SettingsWithoutDatabase } from '../config.js';
import { migrate, type MigrateOptions } from '../migrate/commands/migrate.js';
import { migrateStatus } from '../migrate/commands/status.js';
import type { MigrationEvent } from '../migrate/runner/run.js';
import { verifyMigrations, type VerifyOptions } from '../verify/verify.js';
import { backup, prepareBackupDir, validateBackupOptions, type BackupOptions } from '../backup/dump.js';
import { pruneBackups } from '../backup/catalog.js';
import { DEFAULT_RETENTION } from '../backup/retention.js';
import { safeFilePart } from '../backup/names.js';
import { checkDatabase, type CheckOptions } from '../chores/check.js';
import type { FleetCommandName, TargetError, TargetResult } from './report.js';
import type { TargetControl } from './scheduler.js';
import { targetsError, type FleetTarget } from './targets.js';

/** What a command found on one target; `error` makes it a failure without an exception (a failed check). */
export type TargetOutcome = Pick<TargetResult, 'before' | 'after' | 'applied' | 'detail'> & { error?: TargetError };

export interface FleetCommand {
  name: FleetCommandName;
  /**
   * The most connections one target's run holds at once (migrate: its
   * session and, for a migration that runs long, the one that watches it):
   * what the connection cap divides by.
   */
  connectionsPerTarget: number;
  /** Checks the whole fleet before anything runs (usage errors). */
  check?(settings: SettingsWithoutDatabase, targets: FleetTarget[]): void;
  /** Prepares what all targets share, once, before the first starts. */
  prepare?(settings: SettingsWithoutDatabase): Promise<void>;
  run(settings: Settings, target: FleetTarget, control: TargetControl): Promise<TargetOutcome>;
}

/**
 * migrate's signal: SIGINT/SIGTERM at once (the running migration is
 * cancelled on the server); a stop of the fleet after the migration under
 * way, so that it finishes and no next one starts.
 */
function migrateSignal(control: TargetControl): { signal: AbortSignal; onEvent: (event: MigrationEvent) => void } {
  const controller = new AbortController();
  let running = false;
  const interrupt = () => controller.abort(control.signal.reason);
  const stop = () => {
    if (!running) controller.abort('stop');
  };
  if (control.signal.aborted) interrupt();
  control.signal.addEventListener('abort', interrupt, { once: true });
  if (control.stop.aborted) stop();
  control.stop.addEventListener('abort', stop, { once: true });
  const onEvent = (event: MigrationEvent) => {
    if (event.type === 'migrating') running = true;
    if (event.type !== 'migrated') return;
    running = false;
    // Aborted here, between two migrations, the run stops before the next one; nothing is cancelled.
    if (control.stop.aborted) controller.abort('stop');
  };
  return { signal: controller.signal, onEvent };
}

export function migrateCommand(options: Omit<MigrateOptions, 'signal' | 'onEvent' | 'dryRun' | 'sql' | 'source'> = {}): FleetCommand {
  return {
    name: 'migrate',
    connectionsPerTarget: 2,
    async run(settings, _target, control) {
      const report = await migrate(settings, { ...options, ...migrateSignal(control) });
      return { before: report.fromVersion, after: report.toVersion, applied: report.steps.length };
    },
  };
}

export function statusCommand(): FleetCommand {
  return {
    name: 'migrate:status',
    connectionsPerTarget: 1,
    async run(settings) {
      const s = await migrateStatus(settings);
      const detail = { dirty: s.dirty, pending: s.counts.pending, applied: s.counts.applied, problems: s.problems.map((p) => p.kind) };
      return { before: s.version, after: s.version, detail };
    },
  };
}

export function verifyCommand(options: Omit<VerifyOptions, 'signal' | 'onEvent' | 'source'> = {}): FleetCommand {
  return {
    name: 'migrate:verify',
    // The target (read for its pending migrations), the server's maintenance connection, the scratch database.
    connectionsPerTarget: 3,
    async run(settings, _target, control) {
      const report = await verifyMigrations(settings, { ...options, signal: control.signal });
      const detail = { checked: report.checks.length, passed: report.passed.length, notChecked: report.notChecked.length };
      const finding = report.findings[0];
      if (report.ok || !finding) return { detail };
      const error = { code: finding.code, message: finding.message, operation: `verify migration ${finding.version} (${finding.file})` };
      return { detail: { ...detail, findings: report.findings.length }, error };
    },
  };
}

/** The per-target backup subdirectory: the database's name (unique in the fleet: checked before the run). */
export const backupSubdirectory = (target: FleetTarget) => safeFilePart(target.database.database);

export function backupCommand(options: Omit<BackupOptions, 'signal'> & { prune?: boolean } = {}): FleetCommand {
  const { prune, ...dumpOptions } = options;
  return {
    name: 'backup:create',
    // The backup lock's session, the server facts, and pg_dump with its jobs.
    connectionsPerTarget: 2 + (options.format === 'directory' ? (options.jobs ?? 1) : 1),
    check: checkBackupTargets,
    async prepare(settings) {
      validateBackupOptions(dumpOptions);
      // BACKUP_DIR set explicitly must exist, as for one database; the per-target subdirectories are made below it.
      await prepareBackupDir(settings);
    },
    async run(settings, target, control) {
      // The base directory was checked (or created) before the run; each target's own is made as the default directory is.
      const dir = path.join(settings.backup.dir, backupSubdirectory(target));
      const perTarget = { ...settings, backup: { ...settings.backup, dir, dirConfigured: false } };
      const result = await backup(perTarget, { ...dumpOptions, signal: control.signal });
      const m = result.manifest;
      const detail: Record<string, unknown> = { path: result.path, size: m.size, sha256: m.sha256, verified: result.verified, schemaVersion: m.schemaVersion };
      if (result.verifyError) {
        const error = { code: 'BACKUP_VERIFY_FAILED', message: 'the new backup could not be read back', operation: `verify ${m.file}`, cause: result.verifyError };
        return { detail, error };
      }
      if (prune) detail.pruned = (await pruneBackups(perTarget, DEFAULT_RETENTION)).deleted.length;
      return { detail };
    },
  };
}

/** One dump per database: a schema target would dump its whole database, and two databases of one name would share a directory. */
function checkBackupTargets(_settings: SettingsWithoutDatabase, targets: FleetTarget[]): void {
  const schema = targets.find((t) => t.schema);
  if (schema) {
    throw targetsError('back up the fleet', `${schema.key} is a schema target: pg_dump of it would dump its whole database`,
      'back up each database once (a targets file of database URLs); its dump holds every tenant schema');
  }
  const seen = new Map<string, string>();
  for (const t of targets) {
    const dir = backupSubdirectory(t);
    const other = seen.get(dir);
    if (other) throw targetsError('back up the fleet', `${other} and ${t.key} would share the backup subdirectory ${dir}`, 'back up databases of the same name in separate runs, with another --backup-dir');
    seen.set(dir, t.key);
  }
}

export function checkCommand(options: Omit<CheckOptions, 'onRetry'> = {}): FleetCommand {
  return {
    name: 'db:check',
    connectionsPerTarget: 1,
    async run(settings) {
      const report = await checkDatabase(settings, options);
      const failed = report.checks.filter((c) => c.status === 'fail');
      const detail = { checks: report.checks.length, failed: failed.length };
      if (report.ok) return { detail };
      const cause = failed.map((c) => `${c.label}: ${c.detail}`).join('; ');
      const message = `${failed.length} check${failed.length === 1 ? '' : 's'} failed`;
      return { detail: { ...detail, failedChecks: failed }, error: { code: 'CHECK_FAILED', message, operation: 'check the database', cause } };
    },
  };
}

/** The settings of one target: the fleet's, with the target's database. */
export function targetSettings(settings: SettingsWithoutDatabase, target: FleetTarget): Settings {
  return settingsForDatabase(settings, target.database);
}
