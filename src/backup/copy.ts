/**
 * A restore into a database of its own (`restore --new`, the restore test):
 * created under a temporary name with the archive's encoding, filled by
 * pg_restore or psql, then handed on (renamed, or checked and dropped). On
 * any failure or interruption the temporary database is dropped, retrying
 * while the server restarts, and the error says whether it was.
 */
import { TidemarkError, abortSignalName, interruptedError } from '../errors.js';
import type { DatabaseTarget } from '../connection-string.js';
import type { ArchiveType } from './archive.js';
import { encodingOfArchive } from './archive-read.js';
import type { BackupSettings } from './config.js';
import { createDatabase, dropTemporaryDatabase, endSessions, sessionsNamed, temporaryDatabaseName, type Encoding, type TemporaryPurpose, settleStatementsNaming } from './databases.js';
import type { BackupManifest } from './manifest.js';
import { restoreSessionName, runRestoreTool, type RunOptions } from './restore-run.js';

export interface CopyPlan {
  settings: BackupSettings;
  target: DatabaseTarget;
  file: string;
  type: ArchiveType;
  operation: string;
  /** For DROP DATABASE … WITH (FORCE), PostgreSQL 13+. */
  serverMajor: number;
  encoding: Encoding;
  run: Omit<RunOptions, 'applicationName'>;
  /** Resolves with the error of an integrity check that runs alongside the restore (undefined: the file is sound). */
  integrity?: Promise<unknown>;
  signal?: AbortSignal;
}

/**
 * The encoding, collation and ctype for the copy: the manifest's (recorded
 * from the source at backup time), else the archive's encoding. A locale
 * unknown for an encoding other than template0's would likely not fit it
 * (LATIN1 under en_US.UTF-8), so C is used then, with a warning.
 */
export async function encodingForCopy(settings: BackupSettings, file: string, type: ArchiveType, manifest: BackupManifest | undefined, templateEncoding: string, warnings: string[]): Promise<Encoding> {
  if (manifest?.encoding) return { encoding: manifest.encoding, collate: manifest.collate, ctype: manifest.ctype };
  const encoding = await encodingOfArchive(settings, file, type);
  if (!encoding || encoding === templateEncoding) return { encoding };
  warnings.push(`the dumped database was ${encoding} and its collation is not recorded: the copy is ${encoding} with LC_COLLATE and LC_CTYPE C`);
  return { encoding, collate: 'C', ctype: 'C' };
}

export interface Discarded {
  dropped: boolean;
  /** What the server holds now, in plain words. */
  state: string;
}

/** Ends the tool's sessions and drops the temporary database; says what remains when it cannot. */
export async function discardCopy(plan: CopyPlan, temp: string, session?: string): Promise<Discarded> {
  if (session) await endSessions(plan.settings, plan.target, sessionsNamed(session)).catch(() => undefined);
  await settleStatementsNaming(plan.settings, plan.target, temp);
  const dropped = await dropTemporaryDatabase(plan.settings, plan.target, temp, { force: plan.serverMajor >= 13 });
  return dropped
    ? { dropped, state: `the temporary database ${temp} was dropped again; nothing was created` }
    : { dropped, state: `the partial database ${temp} remains (the server could not be reached to drop it); drop it with DROP DATABASE ${temp}` };
}

/** Runs the tool; a damaged archive found alongside stops it. Returns normally when interrupted (the caller checks the signal). */
async function fill(plan: CopyPlan, temp: string, session: string): Promise<void> {
  const stop = new AbortController();
  const interrupt = () => stop.abort(plan.signal?.reason);
  if (plan.signal?.aborted) return;
  plan.signal?.addEventListener('abort', interrupt, { once: true });
  void plan.integrity?.then((damaged) => damaged && stop.abort());
  try {
    await runRestoreTool(plan.settings, plan.file, plan.type, temp, { ...plan.run, applicationName: session }, plan.operation, stop.signal);
  } finally {
    plan.signal?.removeEventListener('abort', interrupt);
  }
  const damaged = await plan.integrity;
  if (damaged) throw damaged;
}

/**
 * Creates the temporary database, restores into it and calls `finish`
 * with its name (which renames it, or checks it). Whatever fails, or a
 * signal, drops it again; so does success with `dropAfter` (a scratch copy).
 */
export async function restoreCopy<T>(plan: CopyPlan, purpose: TemporaryPurpose, finish: (temp: string) => Promise<T>, options: { dropAfter?: boolean } = {}): Promise<{ value: T; discarded?: Discarded }> {
  const temp = temporaryDatabaseName(purpose);
  if (plan.signal?.aborted) throw interruptedError(abortSignalName(plan.signal), plan.operation, 'nothing was changed');
  await createDatabase(plan.settings, plan.target, temp, plan.encoding).catch(async (err: unknown) => {
    // The server may have created it before the connection died: drop it if it is there, or name it.
    const { state } = await discardCopy(plan, temp);
    const left = state.replace('was dropped again; nothing was created', 'does not exist (dropped, if the server had created it); nothing was created');
    throw err instanceof TidemarkError ? err.withHint(left) : err;
  });
  const session = restoreSessionName();
  let value: T;
  try {
    await fill(plan, temp, session);
    if (plan.signal?.aborted) throw plan.signal.reason;
    value = await finish(temp);
  } catch (err) {
    const { state } = await discardCopy(plan, temp, session);
    if (plan.signal?.aborted) throw interruptedError(abortSignalName(plan.signal), plan.operation, state);
    if (!(err instanceof TidemarkError)) throw err;
    throw err.withHint(err.code === 'BACKUP_VERIFY_FAILED' || err.code === 'RESTORE_TARGET_EXISTS' ? `${state}; ${err.hint}` : state);
  }
  return { value, ...(options.dropAfter && { discarded: await discardCopy(plan, temp) }) };
}
