/**
 * backup:check for physical backups: the newest pitr backup must be younger
 * than maxAge, and archiving must keep up. Archiving that stopped is the
 * classic silent failure: the backups still run, yet no point after the last
 * archived segment can be restored. It fails when the server's archive_mode
 * or archive_command does not archive into the stanza, when the last attempt
 * to archive failed while a segment waits, or when a segment has waited
 * longer than maxWalAge.
 */
import type { SettingsWithoutDatabase } from '../config.js';
import { requireDatabase } from '../backup/config.js';
import { TidemarkError } from '../errors.js';
import { isOurArchiveCommand } from './conf.js';
import { openPitr } from './context.js';
import { readStanza, type PitrBackup } from './info.js';
import { readArchiverStatus, withServer, type ArchiverStatus } from './server.js';
import type { PitrSettings } from '../pitr-settings.js';

export interface PitrCheckResult {
  stanza: string;
  newest: { label: string; type: string; ageMs: number };
  maxAgeMs: number;
  archive: {
    lastArchivedWal?: string;
    lastArchivedAt?: string;
    /** Since the last segment was archived. */
    ageMs?: number;
    waiting?: number;
    /** How long the oldest segment not yet archived has waited. */
    oldestWaitingMs?: number;
  };
  maxWalAgeMs: number;
}

const minutes = (ms: number) => (ms < 120_000 ? `${Math.round(ms / 1000)}s` : ms < 7_200_000 ? `${Math.round(ms / 60_000)}m` : `${(ms / 3_600_000).toFixed(1)}h`);

/** Why archiving is not keeping up, or undefined when it is (pure). */
export function archiveProblem(status: ArchiverStatus, pitr: PitrSettings, stanza: string, maxWalAgeMs: number): string | undefined {
  if (status.archiveMode === 'off') return 'archive_mode is off: the server archives no WAL';
  if (!isOurArchiveCommand(status.archiveCommand, pitr, stanza)) return `archive_command does not push into stanza ${stanza} with tidemark's configuration: ${status.archiveCommand || '(empty)'}`;
  const now = Date.parse(status.now);
  const waitedMs = status.oldestWaitingAt ? now - Date.parse(status.oldestWaitingAt) : undefined;
  const failing = !!status.lastFailedAt && (!status.lastArchivedAt || status.lastFailedAt > status.lastArchivedAt);
  const last = status.lastArchivedAt ? `the last segment archived was ${status.lastArchivedWal} at ${status.lastArchivedAt}` : 'no segment was ever archived';
  if (failing && (status.waiting === undefined || status.waiting > 0)) {
    return `archiving fails: ${status.lastFailedWal} failed at ${status.lastFailedAt} (${status.failedCount} failures so far); ${last}`;
  }
  if (waitedMs !== undefined && waitedMs > maxWalAgeMs) return `${status.waiting} WAL segment(s) wait to be archived, the oldest for ${minutes(waitedMs)} (limit ${minutes(maxWalAgeMs)}); ${last}`;
  return undefined;
}

function newestBackup(backups: PitrBackup[], stanza: string, maxAgeMs: number, now: Date, operation: string): PitrCheckResult['newest'] {
  const newest = backups.filter((b) => !b.error).at(-1);
  if (!newest) throw new TidemarkError('BACKUP_STALE', 'no physical backup', { operation, cause: `stanza ${stanza} has no backup`, hint: 'run `task pitr:backup` (and check its cron job)' });
  const ageMs = now.getTime() - Date.parse(newest.finishedAt);
  if (ageMs > maxAgeMs) {
    throw new TidemarkError('BACKUP_STALE', 'the newest physical backup is too old', {
      operation, cause: `${newest.label} (${newest.type}) finished ${minutes(ageMs)} ago; the limit is ${minutes(maxAgeMs)}`,
      hint: 'check the pitr:backup cron job and its log', data: { label: newest.label, ageMs, maxAgeMs },
    });
  }
  return { label: newest.label, type: newest.type, ageMs };
}

export async function checkPitr(settings: SettingsWithoutDatabase, limits: { maxAgeMs: number; maxWalAgeMs: number }, now = new Date()): Promise<PitrCheckResult> {
  const operation = 'check physical backup freshness and WAL archiving';
  const target = requireDatabase(settings, operation);
  const ctx = await openPitr(settings, operation);
  const info = await readStanza(ctx, operation);
  const status = await withServer(target, operation, readArchiverStatus);
  const problem = archiveProblem(status, settings.pitr, ctx.stanza, limits.maxWalAgeMs);
  if (problem) {
    throw new TidemarkError('PITR_ARCHIVE_STALE', 'WAL archiving has stopped', {
      operation, cause: problem, hint: 'the server log says why archive_command fails; `task pitr:init` prints the settings it needs', data: { ...status },
    });
  }
  const newest = newestBackup(info.backups, ctx.stanza, limits.maxAgeMs, now, operation);
  const waitedMs = status.oldestWaitingAt ? Date.parse(status.now) - Date.parse(status.oldestWaitingAt) : undefined;
  return {
    stanza: ctx.stanza, newest, maxAgeMs: limits.maxAgeMs, maxWalAgeMs: limits.maxWalAgeMs,
    archive: {
      lastArchivedWal: status.lastArchivedWal, lastArchivedAt: status.lastArchivedAt,
      ageMs: status.lastArchivedAt ? Date.parse(status.now) - Date.parse(status.lastArchivedAt) : undefined,
      waiting: status.waiting, oldestWaitingMs: waitedMs,
    },
  };
}
