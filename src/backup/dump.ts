import { createHash } from 'node:crypto';
import { access, chmod, constants, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { TidemarkError, abortSignalName, interruptedError, describeCause } from '../errors.js';
import type { DatabaseTarget } from '../connection-string.js';
import { connectionArgs, describeHost, prepareTool, type PreparedCommand } from '../pgtools/exec.js';
import { describeExit, failed, startTool, stopTools } from '../pgtools/run.js';
import { sha256Directory } from './archive.js';
import { chooseClient, type ChosenClient } from './client.js';
import { requireDatabase, type BackupSettings } from './config.js';
import { acquireBackupLock, backupDirError, type BackupLock } from './lock.js';
import { isPinningTag, writeManifest, type BackupManifest } from './manifest.js';
import { backupFileName, isBackupNameOf, leftoverOf, manifestName, partialName, type BackupFormat, type BackupKind } from './names.js';
import { readServerFacts } from './server.js';
import { BLOCK_BYTES, fanOut, superviseChildren, untilAborted, type ChildExit } from './stream.js';

export interface BackupOptions {
  kind?: BackupKind;
  format?: BackupFormat;
  /** Parallel dump jobs (directory format only). */
  jobs?: number;
  /** Passed to pg_dump --compress: 0-9, or gzip/lz4/zstd[:level] with a PostgreSQL 16+ client. */
  compress?: string;
  tag?: string;
  /** Read the whole archive back while it is written (default true). */
  verify?: boolean;
  signal?: AbortSignal;
  now?: () => Date;
}

export interface BackupResult {
  path: string;
  manifest: BackupManifest;
  verified: boolean;
  /** Why verification failed, when it did. */
  verifyError?: string;
}

const operation = 'back up the database';
/** What an interrupted or failed run leaves: true once the finally block of backup() has run. */
const INTERRUPTED_STATE = 'no backup was written; the partial file was removed and the lock released';

/** A server that cannot be reached or queried is the backup's failure, whatever the helper called it. */
function asBackupFailure(err: unknown): never {
  if (err instanceof TidemarkError && err.code !== 'MIGRATION_INIT_FAILED') throw err;
  const known = err instanceof TidemarkError ? err : undefined;
  throw new TidemarkError('BACKUP_FAILED', 'backup failed', {
    operation: known?.operation ?? 'read the server version', cause: known?.reason ?? describeCause(err), hint: known?.hint,
  }, { cause: err });
}

function backupError(cause: string, hint?: string, err?: unknown): TidemarkError {
  return new TidemarkError('BACKUP_FAILED', 'backup failed', { operation, cause, hint }, { cause: err });
}

export function validateBackupOptions(options: BackupOptions, client?: ChosenClient): void {
  const usage = (cause: string) => new TidemarkError('INVALID_ARGUMENT', 'invalid backup options', { operation, cause });
  if (options.jobs !== undefined && (!Number.isInteger(options.jobs) || options.jobs < 1)) throw usage(`--jobs must be a whole number of at least 1, not ${options.jobs}`);
  if (options.jobs !== undefined && options.jobs > 1 && options.format !== 'directory') throw usage('--jobs needs --format directory (pg_dump dumps in parallel only into a directory)');
  if (options.tag !== undefined && !/^[\w.:@/+-]{1,100}$/.test(options.tag)) throw usage('--tag takes up to 100 letters, digits and . : @ / + - _');
  const compress = options.compress;
  if (compress === undefined) return;
  const match = compress.match(/^(?:(\d)|(none|gzip|lz4|zstd)(?::(\d+))?)$/);
  if (!match) throw usage(`--compress "${compress}" is not 0-9 or gzip, lz4, zstd, none with an optional :level`);
  if (match[2] && match[2] !== 'gzip' && match[2] !== 'none' && client && client.major < 16) {
    throw usage(`--compress ${match[2]} needs pg_dump 16 or newer; the chosen pg_dump is ${client.version}`);
  }
}

/** BACKUP_DIR must exist when set explicitly (an unmounted volume must not become a new folder); the default is created. */
export async function prepareBackupDir(settings: BackupSettings): Promise<void> {
  const invalid = (cause: string) => new TidemarkError('BACKUP_DIR_INVALID', 'unusable backup directory', { operation: `use BACKUP_DIR ${settings.backup.dir}`, cause, hint: 'create it (mode 0700) or point BACKUP_DIR elsewhere' });
  const info = await stat(settings.backup.dir).catch(() => undefined);
  if (!info) {
    if (settings.backup.dirConfigured) throw invalid('the directory does not exist');
    await mkdir(settings.backup.dir, { recursive: true, mode: 0o700 });
  } else if (!info.isDirectory()) throw invalid('not a directory');
  await access(settings.backup.dir, constants.W_OK).catch(() => { throw invalid('not writable'); });
}


/** The first name not taken (by a dump or a manifest); the backup lock keeps others from racing for it. */
async function freeName(dir: string, nameFor: (attempt: number) => string): Promise<string> {
  const taken = new Set(await readdir(dir));
  let attempt = 1;
  while (taken.has(nameFor(attempt)) || taken.has(manifestName(nameFor(attempt)))) attempt++;
  return nameFor(attempt);
}

/**
 * Removes what runs of this database that died left behind (partial dumps,
 * manifest temporaries). Holding the lock, no other run of it can be writing
 * them, whatever pid or host their names carry.
 */
async function clearLeftovers(dir: string, database: string): Promise<void> {
  for (const name of await readdir(dir)) {
    const owner = leftoverOf(name);
    if (owner && isBackupNameOf(owner, database)) await rm(path.join(dir, name), { recursive: true, force: true });
  }
}

function dumpArgs(options: BackupOptions, settings: BackupSettings, database: string): string[] {
  const target = requireDatabase(settings, operation);
  const args = [...connectionArgs(target, settings.backup.host), '--no-password'];
  if (options.kind === 'schema') args.push('--schema-only');
  if (options.kind === 'data') args.push('--data-only');
  if (options.compress !== undefined) args.push(`--compress=${options.compress}`);
  args.push(`--format=${options.format === 'directory' ? 'directory' : 'custom'}`);
  if (options.jobs && options.format === 'directory') args.push(`--jobs=${options.jobs}`);
  return [...args, '--dbname', database];
}

async function sync(target: string): Promise<void> {
  const handle = await open(target, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

const VERIFIER = 'pg_restore (reading the archive back)';

interface Written { sha256: string; size: number; files?: BackupManifest['files']; verifyError?: string }

interface DumpRun {
  settings: BackupSettings;
  target: DatabaseTarget;
  pgDump: ChosenClient;
  args: string[];
  partial: string;
  options: BackupOptions;
  /** Aborted by SIGINT/SIGTERM or by the loss of the lock. */
  stop: AbortSignal;
}

const died = (secret?: string) => (name: string, exit: ChildExit) => backupError(describeExit(name, exit, secret));
const siblingTool = (pgDump: ChosenClient, tool: string) => pgDump.path && path.join(path.dirname(pgDump.path), tool);

async function dumpCustom(run: DumpRun): Promise<Written> {
  const { settings, target, pgDump, options } = run;
  // Everything that can fail comes before the first spawn, so that no failure here leaves a child behind.
  const handle = await open(run.partial, 'wx', 0o600);
  const giveUp = async (err: unknown, prepared?: PreparedCommand): Promise<never> => {
    await prepared?.cleanup(); // its passfile
    await handle.close();
    throw err;
  };
  const dumpCmd = await prepareTool('pg_dump', run.args, target, settings.backup.host, pgDump.path).catch((err) => giveUp(err));
  const verifierCmd = options.verify === false ? undefined
    : await prepareTool('pg_restore', ['--file=/dev/null'], target, settings.backup.host, siblingTool(pgDump, 'pg_restore')).catch((err) => giveUp(err, dumpCmd));
  // Starting fails only when zx cannot be loaded; startTool then removes that command's passfile.
  const dump = await startTool(dumpCmd, { stdout: 'stream' }).catch((err) => giveUp(err, verifierCmd));
  const verifier = verifierCmd && await startTool(verifierCmd, { stdin: 'pipe' }).catch(async (err) => {
    await stopTools([dump]);
    return giveUp(err);
  });
  // Room for a few gathered blocks (see fanOut) before the copy waits for the disk.
  const file = handle.createWriteStream({ highWaterMark: 4 * BLOCK_BYTES });
  const hash = createHash('sha256');
  const work = (async (): Promise<Written> => {
    const copied = fanOut(dump.stdout!, hash, file, verifier?.stdin ?? undefined);
    const [dumped, size] = await Promise.all([dump.done, copied]);
    if (failed(dumped)) throw backupError(describeExit('pg_dump', dumped, target.password));
    await sync(run.partial);
    const verified = verifier && (await verifier.done);
    const verifyError = verified && failed(verified) ? describeExit(VERIFIER, verified, target.password) : undefined;
    return { sha256: hash.digest('hex'), size, verifyError };
  })();
  const children = [{ name: 'pg_dump', tool: dump }, ...(verifier ? [{ name: VERIFIER, tool: verifier, exitIsVerdict: true }] : [])];
  try {
    return await superviseChildren(children, work, run.stop, died(target.password));
  } finally {
    file.destroy();
    await handle.close().catch(() => undefined);
  }
}

/**
 * pg_dump creates a directory archive's files with its umask: run it with
 * 077, so that no data file is ever readable by others, not even while it
 * is written. The shell only sets the umask and execs; no secret is in argv.
 */
function withPrivateUmask(cmd: PreparedCommand): PreparedCommand {
  return { ...cmd, file: '/bin/sh', args: ['-c', 'umask 077 && exec "$0" "$@"', cmd.file, ...cmd.args] };
}

async function dumpDirectory(run: DumpRun): Promise<Written> {
  const { settings, target, pgDump, options, partial } = run;
  if (settings.backup.host.kind !== 'local') {
    throw new TidemarkError('INVALID_ARGUMENT', 'invalid backup options', {
      operation, cause: `--format directory writes files where pg_dump runs, ${describeHost(settings.backup.host)}; use the custom format with containers`,
    });
  }
  const dump = await startTool(withPrivateUmask(await prepareTool('pg_dump', [...run.args, `--file=${partial}`], target, settings.backup.host, pgDump.path)));
  await superviseChildren([{ name: 'pg_dump', tool: dump }], dump.done, run.stop, died(target.password));
  const { sha256, files } = await sha256Directory(partial);
  // Whatever the umask did, the modes the manual promises hold before the archive gets its final name.
  await chmod(partial, 0o700);
  for (const f of files) {
    await chmod(path.join(partial, f.name), 0o600);
    await sync(path.join(partial, f.name));
  }
  let verifyError: string | undefined;
  if (options.verify !== false) {
    const verify = await startTool(await prepareTool('pg_restore', ['--file=/dev/null', partial], target, settings.backup.host, siblingTool(pgDump, 'pg_restore')));
    const result = await superviseChildren([{ name: VERIFIER, tool: verify, exitIsVerdict: true }], verify.done, run.stop, died(target.password));
    if (failed(result)) verifyError = describeExit(VERIFIER, result, target.password);
  }
  return { sha256, files, size: files.reduce((n, f) => n + f.size, 0), verifyError };
}

function describeBackup(run: DumpRun, fileName: string, facts: Awaited<ReturnType<typeof readServerFacts>>, startedAt: Date, written: Written): BackupManifest {
  const { options, settings, pgDump } = run;
  const finishedAt = new Date();
  return {
    tool: 'tidemark', manifestVersion: 1, file: fileName, database: run.target.database, kind: options.kind ?? 'full', format: options.format ?? 'custom',
    ...(options.compress !== undefined && { compression: options.compress }),
    serverVersion: facts.version, pgDumpVersion: pgDump.version, startedAt: startedAt.toISOString(), finishedAt: finishedAt.toISOString(),
    durationMs: finishedAt.getTime() - startedAt.getTime(), size: written.size, sha256: written.sha256, ...(written.files && { files: written.files }),
    ...(options.tag && { tag: options.tag }), pinned: isPinningTag(options.tag), schemaVersion: facts.schemaVersion,
    ...(!written.verifyError && options.verify !== false && { verified: { at: finishedAt.toISOString(), method: 'full-read' as const } }),
    ranOn: describeHost(settings.backup.host), encoding: facts.encoding, collate: facts.collate, ctype: facts.ctype,
  };
}

/** What backup() removes when it fails: the partial, or the dump under its final name until its manifest is written. */
interface Leftover { path?: string }

async function backupLocked(
  settings: BackupSettings, target: DatabaseTarget, options: BackupOptions, stop: AbortSignal, leftover: Leftover,
): Promise<BackupResult> {
  await clearLeftovers(settings.backup.dir, target.database);
  const facts = await untilAborted(readServerFacts(target, settings.backup.host, settings.migrations.table).catch(asBackupFailure), stop);
  const pgDump = await untilAborted(chooseClient('pg_dump', target, settings.backup.host, settings.env, operation, facts.major), stop);
  validateBackupOptions(options, pgDump);
  const startedAt = (options.now ?? (() => new Date()))();
  const nameFor = (attempt: number) => backupFileName(target.database, startedAt, options.kind ?? 'full', options.format ?? 'custom', attempt);
  const fileName = await freeName(settings.backup.dir, nameFor);
  const partial = path.join(settings.backup.dir, partialName(fileName));
  leftover.path = partial;
  const run: DumpRun = { settings, target, pgDump, args: dumpArgs(options, settings, target.database), partial, options, stop };
  const written = options.format === 'directory' ? await dumpDirectory(run) : await dumpCustom(run);
  if (stop.aborted) throw new Error('stopped before the rename');
  const finalPath = path.join(settings.backup.dir, fileName);
  await rename(partial, finalPath);
  leftover.path = finalPath;
  await sync(settings.backup.dir);
  // The last moment to stop (the dump under its final name is removed): once its manifest is written, the backup is finished, not abandoned.
  if (stop.aborted) throw new Error('stopped before the manifest');
  const manifest = describeBackup(run, fileName, facts, startedAt, written);
  await writeManifest(settings.backup.dir, manifest);
  leftover.path = undefined;
  return { path: finalPath, manifest, verified: !!manifest.verified, verifyError: written.verifyError };
}

/** Why a run stopped early: the lock's loss (a coded error) or SIGINT/SIGTERM. */
function stopError(stop: AbortSignal): TidemarkError {
  if (stop.reason instanceof TidemarkError) return stop.reason;
  return interruptedError(abortSignalName(stop), operation, INTERRUPTED_STATE);
}

/**
 * pg_dump into a hidden temporary name in BACKUP_DIR, hashed (and read back
 * by pg_restore) while it streams; only after pg_dump succeeded and the file
 * is on disk is it renamed to its final name, with its manifest beside it.
 * Whatever ends it early (a child that dies, a full disk, SIGINT/SIGTERM
 * through options.signal) stops the children, removes the partial and
 * releases the lock before the coded error is thrown.
 */
export async function backup(settings: BackupSettings, options: BackupOptions = {}): Promise<BackupResult> {
  const target = requireDatabase(settings, operation);
  validateBackupOptions(options);
  await prepareBackupDir(settings);
  let stop = options.signal ?? new AbortController().signal;
  let lock: BackupLock | undefined;
  const leftover: Leftover = {};
  try {
    lock = await acquireBackupLock(target, settings.backup.host, settings.backup.dir, operation, options.signal);
    stop = AbortSignal.any([lock.lost, ...(options.signal ? [options.signal] : [])]);
    return await backupLocked(settings, target, options, stop, leftover);
  } catch (err) {
    if (stop.aborted) throw stopError(stop);
    throw backupDirError(err, settings.backup.dir, operation);
  } finally {
    if (leftover.path) await rm(leftover.path, { recursive: true, force: true });
    await lock?.release();
  }
}
