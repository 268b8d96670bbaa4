import { createHash } from 'node:crypto';
import { access, constants, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { TidemarkError, describeCause } from '../errors.js';
import { maskSecrets } from '../connection-string.js';
import { connectionArgs, describeHost, prepareTool, spawnTool, type SpawnedTool } from '../pgtools/exec.js';
import { sha256Directory } from './archive.js';
import { chooseClient, type ChosenClient } from './client.js';
import { requireDatabase, type BackupSettings } from './config.js';
import { acquireBackupLock, processAlive } from './lock.js';
import { isPinningTag, writeManifest, type BackupManifest } from './manifest.js';
import { backupFileName, manifestName, parsePartialName, partialName, type BackupFormat, type BackupKind } from './names.js';
import { readServerFacts } from './server.js';
import { BLOCK_BYTES, fanOut } from './stream.js';

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
  const invalid = (cause: string) => new TidemarkError('BACKUP_DIR_INVALID', 'unusable backup directory', { operation: `use BACKUP_DIR ${settings.dir}`, cause, hint: 'create it (mode 0700) or point BACKUP_DIR elsewhere' });
  const info = await stat(settings.dir).catch(() => undefined);
  if (!info) {
    if (settings.dirConfigured) throw invalid('the directory does not exist');
    await mkdir(settings.dir, { recursive: true, mode: 0o700 });
  } else if (!info.isDirectory()) throw invalid('not a directory');
  await access(settings.dir, constants.W_OK).catch(() => { throw invalid('not writable'); });
}

/** The first name not taken (by a dump or a manifest); the backup lock keeps others from racing for it. */
async function freeName(dir: string, nameFor: (attempt: number) => string): Promise<string> {
  const taken = new Set(await readdir(dir));
  let attempt = 1;
  while (taken.has(nameFor(attempt)) || taken.has(manifestName(nameFor(attempt)))) attempt++;
  return nameFor(attempt);
}

/** Removes in-progress files left by runs that died (their pid is gone). */
async function clearDeadPartials(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    const partial = parsePartialName(name);
    if (partial && !processAlive(partial.pid)) await rm(path.join(dir, name), { recursive: true, force: true });
  }
}

function dumpArgs(options: BackupOptions, settings: BackupSettings, database: string): string[] {
  const target = requireDatabase(settings, operation);
  const args = [...connectionArgs(target, settings.host), '--no-password'];
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

function onAbort(signal: AbortSignal | undefined, children: Array<SpawnedTool | undefined>): () => void {
  const kill = () => children.forEach((c) => c?.child.kill('SIGTERM'));
  signal?.addEventListener('abort', kill, { once: true });
  return () => signal?.removeEventListener('abort', kill);
}

function failure(name: string, result: { code: number | null; signal: NodeJS.Signals | null; stderr: string }, secret?: string): string {
  const how = result.signal ? `was killed by ${result.signal}` : `exited with status ${result.code}`;
  const text = maskSecrets(result.stderr.trim(), [secret]);
  return `${name} ${how}${text ? `:\n${text}` : ''}`;
}

interface Written { sha256: string; size: number; files?: BackupManifest['files']; verifyError?: string }

async function dumpCustom(settings: BackupSettings, pgDump: ChosenClient, args: string[], partial: string, options: BackupOptions): Promise<Written> {
  const target = requireDatabase(settings, operation);
  const dump = spawnTool(await prepareTool('pg_dump', args, target, settings.host, pgDump.path), ['ignore', 'pipe', 'pipe']);
  const verifier = options.verify === false ? undefined
    : spawnTool(await prepareTool('pg_restore', ['--file=/dev/null'], target, settings.host, pgDump.path && path.join(path.dirname(pgDump.path), 'pg_restore')), ['pipe', 'ignore', 'pipe']);
  const release = onAbort(options.signal, [dump, verifier]);
  try {
    const handle = await open(partial, 'wx', 0o600);
    // Room for a few gathered blocks (see fanOut) before the copy waits for the disk.
    const file = handle.createWriteStream({ highWaterMark: 4 * BLOCK_BYTES });
    const hash = createHash('sha256');
    const copied = fanOut(dump.child.stdout!, hash, file, verifier?.child.stdin ?? undefined);
    const [dumped, size] = await Promise.all([dump.done, copied]);
    if (dumped.code !== 0) throw backupError(failure('pg_dump', dumped, target.password));
    await sync(partial);
    const verified = verifier && (await verifier.done);
    const verifyError = verified && verified.code !== 0 ? failure('pg_restore (reading the archive back)', verified, target.password) : undefined;
    return { sha256: hash.digest('hex'), size, verifyError };
  } catch (err) {
    dump.child.kill('SIGTERM');
    verifier?.child.kill('SIGTERM');
    throw err;
  } finally {
    release();
  }
}

async function dumpDirectory(settings: BackupSettings, pgDump: ChosenClient, args: string[], partial: string, options: BackupOptions): Promise<Written> {
  const target = requireDatabase(settings, operation);
  if (settings.host.kind !== 'local') throw new TidemarkError('INVALID_ARGUMENT', 'invalid backup options', { operation, cause: `--format directory writes files where pg_dump runs, ${describeHost(settings.host)}; use the custom format with containers` });
  const dump = spawnTool(await prepareTool('pg_dump', [...args, `--file=${partial}`], target, settings.host, pgDump.path));
  const release = onAbort(options.signal, [dump]);
  try {
    const dumped = await dump.done;
    if (dumped.code !== 0) throw backupError(failure('pg_dump', dumped, target.password));
    const { sha256, files } = await sha256Directory(partial);
    for (const f of files) await sync(path.join(partial, f.name));
    let verifyError: string | undefined;
    if (options.verify !== false) {
      const verify = spawnTool(await prepareTool('pg_restore', ['--file=/dev/null', partial], target, settings.host, path.join(path.dirname(pgDump.path!), 'pg_restore')));
      const result = await verify.done;
      if (result.code !== 0) verifyError = failure('pg_restore (reading the archive back)', result, target.password);
    }
    return { sha256, files, size: files.reduce((n, f) => n + f.size, 0), verifyError };
  } finally {
    release();
  }
}

/**
 * pg_dump into a hidden temporary name in BACKUP_DIR, hashed (and read back
 * by pg_restore) while it streams; only after pg_dump succeeded and the file
 * is on disk is it renamed to its final name, with its manifest beside it.
 */
export async function backup(settings: BackupSettings, options: BackupOptions = {}): Promise<BackupResult> {
  const target = requireDatabase(settings, operation);
  validateBackupOptions(options);
  await prepareBackupDir(settings);
  const release = await acquireBackupLock(settings.dir, target.database, operation);
  let partial: string | undefined;
  try {
    await clearDeadPartials(settings.dir);
    const facts = await readServerFacts(target, settings.host, settings.migrationsTable);
    const pgDump = await chooseClient('pg_dump', target, settings.host, settings.env, operation, facts.major);
    validateBackupOptions(options, pgDump);
    const startedAt = (options.now ?? (() => new Date()))();
    const format = options.format ?? 'custom';
    const fileName = await freeName(settings.dir, (attempt) => backupFileName(target.database, startedAt, options.kind ?? 'full', format, attempt));
    partial = path.join(settings.dir, partialName(fileName));
    const args = dumpArgs(options, settings, target.database);
    const written = format === 'directory' ? await dumpDirectory(settings, pgDump, args, partial, options) : await dumpCustom(settings, pgDump, args, partial, options);
    if (options.signal?.aborted) throw backupError('interrupted');
    const finalPath = path.join(settings.dir, fileName);
    await rename(partial, finalPath);
    // Until its manifest is written too, a failure removes the dump under its final name.
    partial = finalPath;
    await sync(settings.dir);
    const finishedAt = new Date();
    const manifest: BackupManifest = {
      tool: 'tidemark', manifestVersion: 1, file: fileName, database: target.database, kind: options.kind ?? 'full', format,
      ...(options.compress !== undefined && { compression: options.compress }),
      serverVersion: facts.version, pgDumpVersion: pgDump.version, startedAt: startedAt.toISOString(), finishedAt: finishedAt.toISOString(),
      durationMs: finishedAt.getTime() - startedAt.getTime(), size: written.size, sha256: written.sha256, ...(written.files && { files: written.files }),
      ...(options.tag && { tag: options.tag }), pinned: isPinningTag(options.tag), schemaVersion: facts.schemaVersion,
      ...(!written.verifyError && options.verify !== false && { verified: { at: finishedAt.toISOString(), method: 'full-read' as const } }),
      ranOn: describeHost(settings.host),
    };
    await writeManifest(settings.dir, manifest);
    partial = undefined;
    return { path: finalPath, manifest, verified: !!manifest.verified, verifyError: written.verifyError };
  } catch (err) {
    if (err instanceof TidemarkError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw backupError(code === 'ENOSPC' ? 'no space left on the device; the partial file was removed' : describeCause(err), undefined, err);
  } finally {
    if (partial) await rm(partial, { recursive: true, force: true });
    await release();
  }
}
