import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import pg from 'pg';
import type { Readable } from 'node:stream';
import { TidemarkError } from '../errors.js';
import { maskSecrets, type DatabaseTarget } from '../connection-string.js';
import { connectionArgs, describeHost, prepareTool, spawnTool, type ToolHost } from '../pgtools/exec.js';
import { detectArchive, type ArchiveType } from './archive.js';
import { chooseClient } from './client.js';
import { requireDatabase, type BackupSettings } from './config.js';
import { readManifest } from './manifest.js';
import { querySql, readServerFacts } from './server.js';
import { checkIntegrity, dumpVersionOf } from './verify.js';

export interface RestoreOptions {
  /** Create this database from template0, restore into it, drop it again if the restore fails. */
  newDatabase?: string;
  /** Confirms restoring into the existing database of DATABASE_URL. */
  yes?: boolean;
  /** Drop objects before recreating them (pg_restore --clean --if-exists). */
  clean?: boolean;
  jobs?: number;
  noOwner?: boolean;
  singleTransaction?: boolean;
}

export interface RestoreResult {
  file: string;
  type: ArchiveType;
  database: string;
  created: boolean;
  durationMs: number;
  warnings: string[];
}

const operation = 'restore a backup';

function usage(cause: string, hint?: string): TidemarkError {
  return new TidemarkError('INVALID_ARGUMENT', 'invalid restore options', { operation, cause, hint });
}

export function restoreError(cause: string, hint?: string): TidemarkError {
  return new TidemarkError('RESTORE_FAILED', 'restore failed', { operation, cause, hint });
}

/** A path as given, or a file name inside BACKUP_DIR. */
export async function resolveBackupFile(settings: BackupSettings, file: string, op = operation): Promise<string> {
  const candidates = [path.resolve(settings.cwd, file), path.join(settings.dir, file)];
  for (const candidate of candidates) if (await stat(candidate).catch(() => undefined)) return candidate;
  throw new TidemarkError('BACKUP_NOT_FOUND', 'no such backup', { operation: op, cause: `${file} does not exist (looked in ${settings.cwd} and ${settings.dir})`, hint: 'see `task backup:list`' });
}

const DATABASE_NAME = /^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/;

function validate(options: RestoreOptions, type: ArchiveType, host: ToolHost): void {
  if (options.jobs !== undefined && (!Number.isInteger(options.jobs) || options.jobs < 1)) throw usage(`--jobs must be a whole number of at least 1, not ${options.jobs}`);
  const parallel = (options.jobs ?? 1) > 1;
  if (parallel && options.singleTransaction) throw usage('pg_restore refuses --jobs with --single-transaction', 'choose one: --jobs N for speed, or --single-transaction for all-or-nothing');
  if (parallel && (type === 'sql' || type === 'sql.gz')) throw usage('--jobs needs a custom or directory archive; plain SQL restores through psql in one session');
  if (parallel && host.kind !== 'local') throw usage(`--jobs needs a file pg_restore can seek in; ${describeHost(host)} the archive is streamed over stdin`);
  if (type === 'directory' && host.kind !== 'local') throw usage(`a directory archive cannot be streamed ${describeHost(host)}; use a custom-format backup`);
  if (options.newDatabase !== undefined && !DATABASE_NAME.test(options.newDatabase)) {
    throw usage(`"${options.newDatabase}" is not a valid database name for --new`, 'use letters, digits, _ and -, starting with a letter or _, at most 63 characters');
  }
  if (options.newDatabase !== undefined && options.clean) throw usage('--clean has nothing to drop in a new database (--new)');
}

function restoreArgs(type: ArchiveType, database: string, options: RestoreOptions, target: DatabaseTarget, host: ToolHost, file: string): { tool: string; args: string[]; stdin?: () => Readable } {
  const base = [...connectionArgs(target, host), '--no-password'];
  if (type === 'sql' || type === 'sql.gz') {
    const args = [...base, '-X', '-q', '-v', 'ON_ERROR_STOP=1', ...(options.singleTransaction ? ['--single-transaction'] : []), '--dbname', database];
    const stdin = () => (type === 'sql.gz' ? createReadStream(file).pipe(createGunzip()) : createReadStream(file));
    return { tool: 'psql', args: [...args, '-f', '-'], stdin };
  }
  const args = [...base, '--exit-on-error', '--dbname', database];
  if (options.clean) args.push('--clean', '--if-exists');
  if (options.noOwner) args.push('--no-owner');
  if (options.singleTransaction) args.push('--single-transaction');
  if (options.jobs && options.jobs > 1) args.push(`--jobs=${options.jobs}`);
  return host.kind === 'local' ? { tool: 'pg_restore', args: [...args, file] } : { tool: 'pg_restore', args, stdin: () => createReadStream(file) };
}

/** Runs pg_restore or psql into `database`; any error pg_restore reports fails the restore. Aborting `signal` stops it. */
export async function restoreInto(settings: BackupSettings, file: string, type: ArchiveType, database: string, options: RestoreOptions, signal?: AbortSignal): Promise<void> {
  const target = requireDatabase(settings, operation);
  const { tool, args, stdin } = restoreArgs(type, database, options, target, settings.host, file);
  const client = await chooseClient(tool, target, settings.host, settings.env, operation);
  const spawned = spawnTool(await prepareTool(tool, args, target, settings.host, client.path), [stdin ? 'pipe' : 'ignore', 'ignore', 'pipe']);
  const stop = () => spawned.child.kill('SIGTERM');
  if (signal?.aborted) stop();
  signal?.addEventListener('abort', stop, { once: true });
  const feeding = stdin ? pipeline(stdin(), spawned.child.stdin!).catch(() => undefined) : Promise.resolve();
  const [result] = await Promise.all([spawned.done, feeding]).finally(() => signal?.removeEventListener('abort', stop));
  const errors = result.stderr.split('\n').filter((line) => /(pg_restore: error:|: ERROR: |FATAL: |errors ignored on restore)/.test(line));
  if (result.code !== 0 || errors.length) {
    const shown = maskSecrets((errors.length ? errors : result.stderr.trim().split('\n')).slice(0, 20).join('\n'), [target.password]);
    throw restoreError(`${tool} ${result.signal ? `was killed by ${result.signal}` : `exited with status ${result.code}`}:\n${shown}`,
      type === 'sql' || type === 'sql.gz' ? undefined : 'nothing after the first error was restored; --single-transaction makes a restore all-or-nothing');
  }
}

async function databaseExists(settings: BackupSettings, target: DatabaseTarget, name: string): Promise<boolean> {
  return (await querySql(target, settings.host, `SELECT 1 FROM pg_database WHERE datname = ${pg.escapeLiteral(name)}`, undefined, operation)).length > 0;
}

export async function createDatabase(settings: BackupSettings, target: DatabaseTarget, name: string): Promise<void> {
  await querySql(target, settings.host, `CREATE DATABASE ${pg.escapeIdentifier(name)} TEMPLATE template0`, undefined, `create database ${name}`);
}

export async function dropDatabase(settings: BackupSettings, target: DatabaseTarget, name: string): Promise<void> {
  await querySql(target, settings.host, `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)}`, undefined, `drop database ${name}`);
}

/**
 * Restores a backup (custom, directory or tar archive through pg_restore;
 * .sql and .sql.gz through psql with ON_ERROR_STOP) into the database of
 * DATABASE_URL, or into a new database that is dropped again on failure.
 * The archive is checked first (checksum, or a full read when it has no
 * manifest), so a damaged file touches nothing.
 */
export async function restore(settings: BackupSettings, fileArg: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  const target = requireDatabase(settings, operation);
  const started = Date.now();
  const file = await resolveBackupFile(settings, fileArg);
  const type = await detectArchive(file).catch(() => undefined);
  if (!type) throw restoreError(`${fileArg} is not a PostgreSQL dump (custom, directory or tar archive, .sql or .sql.gz)`, 'nothing was changed');
  validate(options, type, settings.host);
  if (!options.newDatabase && !options.yes) {
    throw new TidemarkError('CONFIRMATION_REQUIRED', 'restoring over a database needs confirmation', {
      operation, cause: `this writes into ${target.database} (${target.redacted})`, hint: 'pass --yes (or answer the prompt on a terminal), or restore into a new database with --new NAME',
    });
  }
  const manifest = await readManifest(path.dirname(file), path.basename(file));
  // Into a new database, an archive with a manifest is checked (its SHA-256)
  // while pg_restore fills that database: a mismatch stops pg_restore and
  // drops the database, so a damaged file still changes nothing. Otherwise
  // the archive is checked before anything is touched.
  const alongside = !!options.newDatabase && !!manifest;
  const integrity = checkIntegrity(settings, file, type, manifest, operation).then(() => undefined, (err: unknown) => err);
  const checked = async () => {
    const damaged = await integrity;
    if (damaged) throw damaged;
  };
  // Reading the server changes nothing, so it overlaps the check; a damaged archive is still reported first.
  const server = Promise.all([
    readServerFacts(target, settings.host, settings.migrationsTable),
    options.newDatabase ? databaseExists(settings, target, options.newDatabase) : Promise.resolve(false),
  ]);
  server.catch(() => undefined);
  if (!alongside) await checked();
  const [facts, exists] = await server.catch(async (err) => {
    await checked();
    throw err;
  });
  const warnings: string[] = [];
  const dumpVersion = manifest?.pgDumpVersion ?? (await dumpVersionOf(settings, file, type));
  if (dumpVersion && Number(dumpVersion.split('.')[0]) > facts.major) {
    warnings.push(`this dump was made by pg_dump ${dumpVersion}, newer than the server (PostgreSQL ${facts.version}); settings it writes (e.g. transaction_timeout from pg_dump 17) may be rejected`);
  }
  const database = options.newDatabase ?? target.database;
  if (options.newDatabase) {
    if (exists) {
      await checked();
      throw new TidemarkError('RESTORE_TARGET_EXISTS', 'the database exists', { operation, cause: `database ${options.newDatabase} already exists; nothing was changed`, hint: 'choose another name, or drop it first' });
    }
    await createDatabase(settings, target, options.newDatabase);
  }
  try {
    if (alongside) {
      const stop = new AbortController();
      const restoring = restoreInto(settings, file, type, database, options, stop.signal).then(() => undefined, (err: unknown) => err);
      const damaged = await integrity;
      if (damaged) stop.abort();
      const failed = await restoring;
      if (damaged || failed) throw damaged ?? failed;
    } else {
      await restoreInto(settings, file, type, database, options);
    }
  } catch (err) {
    if (options.newDatabase) await dropDatabase(settings, target, options.newDatabase).catch(() => undefined);
    // A damaged archive's error keeps its hint: with the new database dropped, nothing was changed.
    const keepHint = !(err instanceof TidemarkError) || err.code === 'BACKUP_VERIFY_FAILED';
    throw options.newDatabase && !keepHint ? (err as TidemarkError).withHint(`the new database ${options.newDatabase} was dropped again`) : err;
  }
  return { file, type, database, created: !!options.newDatabase, durationMs: Date.now() - started, warnings };
}
