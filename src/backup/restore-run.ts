/**
 * Runs pg_restore (custom, directory, tar) or a restricted psql (.sql,
 * .sql.gz) into one database, with a session name of its own so that its
 * server sessions can be found and ended when the run is stopped.
 */
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { TidemarkError } from '../errors.js';
import type { DatabaseTarget } from '../connection-string.js';
import { connectionArgs, prepareTool, type ToolHost } from '../pgtools/exec.js';
import { describeExit, failed, startTool } from '../pgtools/run.js';
import { plainSqlHead, type ArchiveType } from './archive.js';
import { chooseClient } from './client.js';
import { requireDatabase, type BackupSettings } from './config.js';
import { connectsElsewhere, psqlKnowsRestrict, restrictedScript } from './psql-guard.js';

export interface RunOptions {
  clean?: boolean;
  jobs?: number;
  noOwner?: boolean;
  singleTransaction?: boolean;
  /** The schema without the data (pg_restore --schema-only; archives only). */
  schemaOnly?: boolean;
  /** The application_name of the tool's sessions (see restoreSessionName). */
  applicationName: string;
}

export const isPlain = (type: ArchiveType): type is 'sql' | 'sql.gz' => type === 'sql' || type === 'sql.gz';

/** A name no other run uses, for finding this run's sessions in pg_stat_activity. */
export function restoreSessionName(): string {
  return `tidemark_restore_${process.pid}_${randomBytes(4).toString('hex')}`;
}

export function restoreError(operation: string, cause: string, hint?: string): TidemarkError {
  return new TidemarkError('RESTORE_FAILED', 'restore failed', { operation, cause, hint });
}

/**
 * Before anything is created: psql must know `\restrict` (else the file's
 * meta-commands could run programs here), and the script must not switch
 * databases (pg_dump --create writes `\connect`).
 */
export async function checkPlainScript(settings: BackupSettings, file: string, type: 'sql' | 'sql.gz', operation: string): Promise<void> {
  const target = requireDatabase(settings, operation);
  const psql = await chooseClient('psql', target, settings.backup.host, settings.env, operation);
  if (!psqlKnowsRestrict(psql.version)) {
    throw restoreError(operation, `psql ${psql.version} cannot be kept from running the file's meta-commands (\\!, \\o |…, \\copy … program): that needs psql 13.22, 14.19, 15.14, 16.10, 17.6 or newer; nothing was changed`,
      'install newer PostgreSQL client tools (or set PG_BIN_DIR to them), or restore the file with psql yourself after reading it');
  }
  if (connectsElsewhere(await plainSqlHead(file, type))) {
    throw restoreError(operation, `${file} switches databases with \\connect (made by pg_dump --create or pg_dumpall); nothing was changed`,
      'dump the database without --create, or run the script with psql yourself');
  }
}

function toolArgs(type: ArchiveType, database: string, options: RunOptions, target: DatabaseTarget, host: ToolHost, file: string): { tool: string; args: string[]; stdin?: () => Readable } {
  const base = [...connectionArgs(target, host), '--no-password'];
  if (isPlain(type)) {
    const args = [...base, '-X', '-q', '-v', 'ON_ERROR_STOP=1', ...(options.singleTransaction ? ['--single-transaction'] : []), '--dbname', database];
    const stdin = () => restrictedScript(type === 'sql.gz' ? createReadStream(file).pipe(createGunzip()) : createReadStream(file));
    return { tool: 'psql', args: [...args, '-f', '-'], stdin };
  }
  const args = [...base, '--exit-on-error', '--dbname', database];
  if (options.clean) args.push('--clean', '--if-exists');
  if (options.noOwner) args.push('--no-owner');
  if (options.schemaOnly) args.push('--schema-only');
  if (options.singleTransaction) args.push('--single-transaction');
  if (options.jobs && options.jobs > 1) args.push(`--jobs=${options.jobs}`);
  return host.kind === 'local' ? { tool: 'pg_restore', args: [...args, file] } : { tool: 'pg_restore', args, stdin: () => createReadStream(file) };
}

const ERROR_LINE = /(pg_restore: error:|: ERROR: |FATAL: |errors ignored on restore|psql:.*: error: )/;

/**
 * Runs pg_restore or psql into `database`; any error it reports fails the
 * run. Aborting `signal` stops the child (pg_restore cancels its statement
 * on SIGTERM) and resolves 'stopped', unless the tool had already finished
 * (then its transaction is committed: 'completed'); the caller ends what is
 * left of its sessions.
 */
export async function runRestoreTool(settings: BackupSettings, file: string, type: ArchiveType, database: string, options: RunOptions, operation: string, signal?: AbortSignal): Promise<'completed' | 'stopped'> {
  const base = requireDatabase(settings, operation);
  const target: DatabaseTarget = { ...base, client: { ...base.client, application_name: options.applicationName } };
  const { tool, args, stdin } = toolArgs(type, database, options, target, settings.backup.host, file);
  const client = await chooseClient(tool, target, settings.backup.host, settings.env, operation);
  if (signal?.aborted) return 'stopped';
  // pg_restore cancels its statement on SIGTERM, whichever signal stopped this run.
  const running = await startTool(await prepareTool(tool, args, target, settings.backup.host, client.path), { stdin, signal, killSignal: 'SIGTERM' });
  const result = await running.done;
  const errors = result.stderr.split('\n').filter((line) => ERROR_LINE.test(line));
  const bad = failed(result) || errors.length > 0;
  if (signal?.aborted) return bad ? 'stopped' : 'completed';
  if (bad) {
    const shown = (errors.length ? errors : result.stderr.trim().split('\n')).slice(0, 20).join('\n');
    throw restoreError(operation, describeExit(tool, { ...result, stderr: shown }, target.password));
  }
  return 'completed';
}
