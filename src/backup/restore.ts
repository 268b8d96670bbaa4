import path from 'node:path';
import { TidemarkError, abortSignalName, interruptedError } from '../errors.js';
import type { DatabaseTarget } from '../connection-string.js';
import { describeHost, type ToolHost } from '../pgtools/exec.js';
import { detectArchive, resolveBackupFile, type ArchiveType } from './archive.js';
import { dumpVersionOf } from './archive-read.js';
import { requireDatabase, type BackupSettings } from './config.js';
import { encodingForCopy, restoreCopy, type CopyPlan } from './copy.js';
import { dropLeftovers, endSessions, lookUpDatabase, renameDatabase, restoreTargetExists, sessionsNamed } from './databases.js';
import { readManifest, type BackupManifest } from './manifest.js';
import { checkPlainScript, isPlain, restoreError, restoreSessionName, runRestoreTool } from './restore-run.js';
import { readServerFacts, type ServerFacts } from './server.js';
import { checkIntegrity } from './verify.js';

export interface RestoreOptions {
  /** Restore into a temporary database created with the archive's encoding, renamed to this once the restore succeeded. */
  newDatabase?: string;
  /** Confirms restoring into the existing database of DATABASE_URL. */
  yes?: boolean;
  /** Drop objects before recreating them (pg_restore --clean --if-exists). */
  clean?: boolean;
  /** Parallel pg_restore jobs: only with --new (a parallel restore cannot be one transaction). */
  jobs?: number;
  noOwner?: boolean;
  /** With --new, restore in one transaction too (a restore over an existing database always is). */
  singleTransaction?: boolean;
  /** Restore the schema without the data (archives only: pg_restore --schema-only). */
  schemaOnly?: boolean;
  /** SIGINT/SIGTERM: stops pg_restore/psql, rolls back or drops what it did, and throws INTERRUPTED. */
  signal?: AbortSignal;
}

export interface RestoreResult {
  file: string;
  type: ArchiveType;
  database: string;
  created: boolean;
  /** The encoding the new database was created with (--new), when known. */
  encoding?: string;
  durationMs: number;
  warnings: string[];
}

const operation = 'restore a backup';

function usage(cause: string, hint?: string): TidemarkError {
  return new TidemarkError('INVALID_ARGUMENT', 'invalid restore options', { operation, cause, hint });
}

const DATABASE_NAME = /^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/;

function validate(options: RestoreOptions, type: ArchiveType, host: ToolHost): void {
  if (options.jobs !== undefined && (!Number.isInteger(options.jobs) || options.jobs < 1)) throw usage(`--jobs must be a whole number of at least 1, not ${options.jobs}`);
  const parallel = (options.jobs ?? 1) > 1;
  if (parallel && options.singleTransaction) throw usage('pg_restore refuses --jobs with --single-transaction', 'choose one: --jobs N for speed, or --single-transaction for all-or-nothing');
  if (parallel && isPlain(type)) throw usage('--jobs needs a custom or directory archive; plain SQL restores through psql in one session');
  if (parallel && !options.newDatabase) {
    throw usage('--jobs cannot restore over an existing database all-or-nothing (a parallel restore is not one transaction)', 'restore into a new database in parallel with --new NAME --jobs N, then switch to it');
  }
  if (parallel && host.kind !== 'local') throw usage(`--jobs needs a file pg_restore can seek in; ${describeHost(host)} the archive is streamed over stdin`);
  if (type === 'directory' && host.kind !== 'local') throw usage(`a directory archive cannot be streamed ${describeHost(host)}; use a custom-format backup`);
  if (options.newDatabase !== undefined && !DATABASE_NAME.test(options.newDatabase)) {
    throw usage(`"${options.newDatabase}" is not a valid database name for --new`, 'use letters, digits, _ and -, starting with a letter or _, at most 63 characters');
  }
  if (options.newDatabase !== undefined && options.clean) throw usage('--clean has nothing to drop in a new database (--new)');
  if (options.schemaOnly && isPlain(type)) throw usage('--schema-only needs a custom, directory or tar archive; a plain SQL dump restores as it was written');
  if (options.clean && isPlain(type)) throw usage('--clean is for archives; a plain SQL dump drops objects itself when made with pg_dump --clean');
}

function interrupted(options: RestoreOptions, state: string): TidemarkError {
  return interruptedError(abortSignalName(options.signal), operation, state);
}

function newerDumpWarning(dumpVersion: string | undefined, facts: ServerFacts): string[] {
  if (!dumpVersion || Number(dumpVersion.split('.')[0]) <= facts.major) return [];
  return [`this dump was made by pg_dump ${dumpVersion}, newer than the server (PostgreSQL ${facts.version}); settings it writes (e.g. transaction_timeout from pg_dump 17) may be rejected`];
}

interface Prepared {
  target: DatabaseTarget;
  file: string;
  type: ArchiveType;
  manifest?: BackupManifest;
}

/**
 * Over the existing database: the file is checked first, then restored in
 * one transaction, so that a failure or a signal leaves the database
 * exactly as it was.
 */
async function restoreOver(settings: BackupSettings, p: Prepared, options: RestoreOptions): Promise<RestoreResult> {
  const started = Date.now();
  await checkIntegrity(settings, p.file, p.type, p.manifest, operation);
  const facts = await readServerFacts(p.target, settings.backup.host, settings.migrations.table);
  const warnings = newerDumpWarning(p.manifest?.pgDumpVersion ?? (await dumpVersionOf(settings, p.file, p.type)), facts);
  if (options.signal?.aborted) throw interrupted(options, 'nothing was changed');
  const session = restoreSessionName();
  const database = p.target.database;
  const run = { clean: options.clean, noOwner: options.noOwner, schemaOnly: options.schemaOnly, singleTransaction: true, applicationName: session };
  let outcome: 'completed' | 'stopped';
  try {
    outcome = await runRestoreTool(settings, p.file, p.type, database, run, operation, options.signal);
  } catch (err) {
    if (!(err instanceof TidemarkError) || err.code !== 'RESTORE_FAILED') throw err;
    throw err.withHint(`the restore ran in one transaction, which was rolled back: ${database} is as it was`);
  }
  // A signal that came after the restore committed changes nothing: it is done.
  if (outcome === 'stopped') {
    const ended = await endSessions(settings, p.target, sessionsNamed(session)).catch(() => false);
    throw interrupted(options, ended
      ? `the restore was stopped and its transaction rolled back: ${database} is as it was`
      : `the restore was stopped; its session could not be confirmed gone, and its transaction is rolled back when it ends: ${database} keeps its contents`);
  }
  return { file: p.file, type: p.type, database, created: false, durationMs: Date.now() - started, warnings };
}

/**
 * Into a new database: restored under a temporary name and renamed to
 * NAME only once the restore succeeded and the archive's checksum matched.
 * A failure or a signal drops the temporary database (or names it).
 */
async function restoreAsNew(settings: BackupSettings, p: Prepared, name: string, options: RestoreOptions): Promise<RestoreResult> {
  const started = Date.now();
  // With a manifest, the SHA-256 is computed while pg_restore fills the copy; without, the full read comes first.
  const alongside = !!p.manifest;
  const integrity = checkIntegrity(settings, p.file, p.type, p.manifest, operation).then(() => undefined, (err: unknown) => err);
  if (!alongside && (await integrity)) throw await integrity;
  const [facts, found] = await Promise.all([
    readServerFacts(p.target, settings.backup.host, settings.migrations.table),
    lookUpDatabase(settings, p.target, name, operation),
  ]).catch(async (err) => {
    const damaged = await integrity;
    throw damaged ?? err;
  });
  if (found.exists) {
    const damaged = await integrity;
    throw damaged ?? restoreTargetExists(name, operation);
  }
  const warnings = newerDumpWarning(p.manifest?.pgDumpVersion ?? (await dumpVersionOf(settings, p.file, p.type)), facts);
  const dropped = await dropLeftovers(settings, p.target).catch(() => []);
  warnings.push(...dropped.map((d) => `dropped ${d}, left by an earlier run that is gone`));
  const encoding = await encodingForCopy(settings, p.file, p.type, p.manifest, found.templateEncoding, warnings);
  const plan: CopyPlan = {
    settings, target: p.target, file: p.file, type: p.type, operation, serverMajor: facts.major, encoding, integrity, signal: options.signal,
    run: { jobs: options.jobs, noOwner: options.noOwner, schemaOnly: options.schemaOnly, singleTransaction: options.singleTransaction },
  };
  await restoreCopy(plan, 'restoring', (temp) => renameDatabase(settings, p.target, temp, name, operation));
  return { file: p.file, type: p.type, database: name, created: true, encoding: encoding.encoding, durationMs: Date.now() - started, warnings };
}

/**
 * Restores a backup (custom, directory or tar archive through pg_restore;
 * .sql and .sql.gz through a restricted psql with ON_ERROR_STOP) into the
 * database of DATABASE_URL, all or nothing, or into a new database. A
 * damaged archive changes nothing.
 */
export async function restore(settings: BackupSettings, fileArg: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  const target = requireDatabase(settings, operation);
  const file = await resolveBackupFile(settings, fileArg, operation);
  const type = await detectArchive(file).catch(() => undefined);
  if (!type) throw restoreError(operation, `${fileArg} is not a PostgreSQL dump (custom, directory or tar archive, .sql or .sql.gz)`, 'nothing was changed');
  validate(options, type, settings.backup.host);
  if (!options.newDatabase && !options.yes) {
    throw new TidemarkError('CONFIRMATION_REQUIRED', 'restoring over a database needs confirmation', {
      operation, cause: `this writes into ${target.database} (${target.redacted})`, hint: 'pass --yes (or answer the prompt on a terminal), or restore into a new database with --new NAME',
    });
  }
  if (isPlain(type)) await checkPlainScript(settings, file, type, operation);
  const prepared: Prepared = { target, file, type, manifest: await readManifest(path.dirname(file), path.basename(file)) };
  return options.newDatabase ? restoreAsNew(settings, prepared, options.newDatabase, options) : restoreOver(settings, prepared, options);
}
