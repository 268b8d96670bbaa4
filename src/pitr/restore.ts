/**
 * `pitr:restore`: a point-in-time restore by pgBackRest into a new (or empty)
 * directory, optionally started on a port of its own; in place only when
 * asked (--in-place --yes) and with the server stopped. The running server's
 * data directory is never touched otherwise.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { SettingsWithoutDatabase } from '../config.js';
import { abortSignalName, interruptedError, TidemarkError, type ErrorCode } from '../errors.js';
import { failed } from '../pgtools/run.js';
import { processAlive } from '../process-alive.js';
import { findFreePort } from '../devdb/cluster.js';
import { restoredTarget, startRestored, waitForRecovery, type StartedCluster } from './cluster-run.js';
import { openPitr } from './context.js';
import { readStanza } from './info.js';
import { handOver, pgbackrestFailure, requireLocal, startPgbackrest, type PitrContext } from './tool.js';

export interface RecoveryTarget {
  /** A time (ISO 8601; without a zone it is local time), or a Date. */
  to?: string | Date;
  lsn?: string;
  xid?: string;
  /** Stop as soon as the backup is consistent. */
  immediate?: boolean;
}

export interface PitrRestoreOptions extends RecoveryTarget {
  /** A new or empty directory. */
  targetDir?: string;
  /** Over the server's own data directory: needs `yes` and the server stopped. */
  inPlace?: boolean;
  yes?: boolean;
  /** Start the restored cluster (with targetDir) on `port` (default: a free one). */
  start?: boolean;
  port?: number;
  signal?: AbortSignal;
}

export interface PitrRestoreResult {
  dataDir: string;
  inPlace: boolean;
  target: { type: 'default' | 'time' | 'lsn' | 'xid' | 'immediate'; value?: string };
  durationMs: number;
  started?: { port: number; logFile: string; recovered: boolean };
}

const OPERATION = 'restore the cluster to a point in time (pgBackRest)';

function refusal(code: ErrorCode, message: string, cause: string, hint?: string): TidemarkError {
  return new TidemarkError(code, message, { operation: OPERATION, cause, hint });
}

const usage = (cause: string, hint?: string) => refusal('INVALID_ARGUMENT', 'invalid arguments', cause, hint);

const WITH_ZONE = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d(?::\d\d(?:\.\d+)?)?)\s*(Z|[+-]\d\d(?::?\d\d)?)$/i;

/**
 * PostgreSQL's recovery_target_time. A time with its zone (`…Z`, `…+02`,
 * `…+05:30`, as psql prints `now()`) goes as written, microseconds kept; one
 * without is this machine's local time, sent in UTC.
 */
export function targetTime(value: string | Date): string {
  if (value instanceof Date) return `${value.toISOString().replace('T', ' ').replace('Z', '')}+00`;
  const text = value.trim();
  const zoned = text.match(WITH_ZONE);
  const parsed = new Date(zoned ? `${zoned[1]}T${zoned[2]}${zoned[3].toUpperCase() === 'Z' ? 'Z' : zoned[3].replace(/^([+-]\d\d)$/, '$1:00').replace(/^([+-]\d\d)(\d\d)$/, '$1:$2')}` : text.replace(' ', 'T'));
  if (Number.isNaN(parsed.getTime())) throw usage(`"${text}" is not a time`, 'use ISO 8601, e.g. 2026-12-01T10:00:00Z or 2026-12-01 10:00:00.123456+00');
  if (!zoned) return targetTime(parsed);
  return `${zoned[1]} ${zoned[2]}${zoned[3].toUpperCase() === 'Z' ? '+00' : zoned[3]}`;
}

/** pgBackRest's --type, --target and --target-action for a recovery target (pure). */
export function recoveryTargetArgs(target: RecoveryTarget): { args: string[]; described: PitrRestoreResult['target'] } {
  const given = [target.to !== undefined, target.lsn !== undefined, target.xid !== undefined, !!target.immediate].filter(Boolean).length;
  if (given > 1) throw usage('give at most one of --to, --lsn, --xid and --immediate');
  // A target reached ends recovery and opens the copy for writing, rather than pausing it.
  const promote = '--target-action=promote';
  if (target.to !== undefined) {
    const value = targetTime(target.to);
    return { args: ['--type=time', `--target=${value}`, promote], described: { type: 'time', value } };
  }
  if (target.lsn !== undefined) {
    if (!/^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/i.test(target.lsn)) throw usage(`"${target.lsn}" is not an LSN`, 'an LSN reads like 0/3000060');
    return { args: ['--type=lsn', `--target=${target.lsn}`, promote], described: { type: 'lsn', value: target.lsn } };
  }
  if (target.xid !== undefined) {
    if (!/^\d+$/.test(target.xid)) throw usage(`"${target.xid}" is not a transaction id`);
    return { args: ['--type=xid', `--target=${target.xid}`, promote], described: { type: 'xid', value: target.xid } };
  }
  if (target.immediate) return { args: ['--type=immediate', promote], described: { type: 'immediate' } };
  return { args: [], described: { type: 'default' } };
}

/** A new directory, or an empty one: made here, owned by the user pgBackRest runs as. */
function prepareTargetDir(dir: string, ctx: PitrContext, dataDir: string | undefined): void {
  if (dataDir && path.resolve(dir) === path.resolve(dataDir)) {
    throw refusal('PITR_TARGET_NOT_EMPTY', 'that is the server\'s data directory', `${dir} is the data directory of the configured cluster`,
      'restore into a new directory, or stop the server and use --in-place --yes');
  }
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw refusal('PITR_TARGET_NOT_EMPTY', 'the target is not a directory', `${dir} is a file`);
    const entries = readdirSync(dir);
    if (entries.length) {
      const shown = `${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}`;
      throw refusal('PITR_TARGET_NOT_EMPTY', 'the target directory is not empty', `${dir} holds ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'} (${shown})`,
        'give a new or empty directory: nothing in it is overwritten');
    }
  } else {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
  handOver(dir, ctx.as);
}

/** The server runs when its postmaster.pid names a live process. */
export function serverRunning(dataDir: string): number | undefined {
  const file = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
  return pid > 0 && processAlive(pid) ? pid : undefined;
}

function inPlaceDir(ctx: PitrContext & { cluster?: { dataDir: string } }, yes: boolean): string {
  const dataDir = ctx.cluster?.dataDir;
  if (!dataDir) {
    throw refusal('PITR_NOT_CONFIGURED', 'the data directory is unknown', 'neither PITR_DATA_DIR nor a configuration written by pitr:init names it', 'set PITR_DATA_DIR (or --data-dir)');
  }
  if (!yes) throw refusal('CONFIRMATION_REQUIRED', 'restoring in place needs confirmation', `every file of ${dataDir} would be replaced`, 'stop the server, then run again with --in-place --yes');
  const pid = serverRunning(dataDir);
  if (pid) {
    throw refusal('PITR_SERVER_RUNNING', 'the server is running', `${dataDir}/postmaster.pid names process ${pid}, which runs`,
      'stop the server first (pg_ctl stop, systemctl stop postgresql): a restore in place needs it down');
  }
  return dataDir;
}

export async function pitrRestore(settings: SettingsWithoutDatabase, options: PitrRestoreOptions): Promise<PitrRestoreResult> {
  const started = Date.now();
  if (!!options.inPlace === (options.targetDir !== undefined)) {
    throw usage('give either --target-dir DIR or --in-place', 'task pitr:restore -- --to "2026-12-01 10:00:00+00" --target-dir /srv/pg-restored');
  }
  if (options.inPlace && options.start) throw usage('--start goes with --target-dir: after a restore in place, start the server as you always do');
  const { args: targetArgs, described } = recoveryTargetArgs(options);
  requireLocal(settings.pitr, OPERATION);
  const ctx = await openPitr(settings, OPERATION);
  await readStanza(ctx, OPERATION);
  const dataDir = options.inPlace ? inPlaceDir(ctx, !!options.yes) : path.resolve(settings.cwd, options.targetDir!);
  if (!options.inPlace) prepareTargetDir(dataDir, ctx, ctx.cluster?.dataDir);
  const placement = options.inPlace ? ['--delta'] : ['--archive-mode=off', `--tablespace-map-all=${dataDir}.tablespaces`];
  const args = [`--pg1-path=${dataDir}`, ...placement, ...targetArgs];
  const result = await (await startPgbackrest(ctx, 'restore', args, { signal: options.signal, stdout: 'collect' })).output;
  if (options.signal?.aborted) {
    const next = options.inPlace ? 'run the restore in place again' : 'remove it';
    throw interruptedError(abortSignalName(options.signal), OPERATION, `pgBackRest was stopped: ${dataDir} holds a partial restore that must not be started; ${next} before anything else`);
  }
  if (failed(result)) throw refusal('PITR_RESTORE_FAILED', 'pgbackrest restore failed', pgbackrestFailure('restore', result, ctx));
  const out: PitrRestoreResult = { dataDir, inPlace: !!options.inPlace, target: described, durationMs: 0 };
  if (options.start) out.started = await startCopy(settings, ctx, dataDir, options);
  return { ...out, durationMs: Date.now() - started };
}

type Started = NonNullable<PitrRestoreResult['started']>;

async function startCopy(settings: SettingsWithoutDatabase, ctx: PitrContext, dataDir: string, options: PitrRestoreOptions): Promise<Started> {
  const port = options.port ?? await findFreePort();
  const cluster: StartedCluster = await startRestored(dataDir, port, ctx.as, 'PITR_RESTORE_FAILED', OPERATION);
  if (!settings.database) return { port, logFile: cluster.logFile, recovered: false };
  await waitForRecovery(restoredTarget(settings.database, port), 'PITR_RESTORE_FAILED', OPERATION, options.signal);
  return { port, logFile: cluster.logFile, recovered: !options.signal?.aborted };
}
