/** `pgbackrest info --output=json`, read into tidemark's terms: backups, the WAL archive, the recovery window. */
import { TidemarkError } from '../errors.js';
import { pgbackrestFailure, runPgbackrest, type PitrContext } from './tool.js';
import { failed } from '../pgtools/run.js';

export type PitrBackupType = 'full' | 'diff' | 'incr';

export interface PitrBackup {
  label: string;
  type: PitrBackupType;
  /** The backup this one depends on (diff, incr), if any. */
  prior?: string;
  startedAt: string;
  finishedAt: string;
  /** Size of the database when backed up, and what this backup added to it. */
  size: number;
  delta: number;
  /** Bytes in the repository: the whole set, and this backup's own part. */
  repoSize: number;
  repoDelta: number;
  startLsn: string;
  stopLsn: string;
  startWal: string;
  stopWal: string;
  /** pgBackRest's annotation `tag`, when the backup has one. */
  tag?: string;
  /** pgBackRest found an error (a page checksum) while backing it up. */
  error: boolean;
}

export interface StanzaInfo {
  stanza: string;
  /** pgBackRest's status: code 0 ok, 1 missing stanza path, 2 no valid backups, ... */
  status: { code: number; message: string };
  backups: PitrBackup[];
  archive?: { min: string; max: string };
  pgVersion?: string;
  cipher: string;
  /** A backup runs now (its lock is held). */
  backupRunning: boolean;
}

/** The earliest and latest points in time a restore can reach. */
export interface RecoveryWindow {
  /** The end of the oldest backup: no restore reaches a point before it. */
  earliest?: { time: string; lsn: string; backup: string };
  /** The end of the archive: its last WAL segment, and when it was archived when the server said so. */
  latest?: { wal: string; time?: string };
}

interface RawBackup {
  label: string; type: PitrBackupType; prior: string | null; error?: boolean; annotation?: Record<string, string>;
  timestamp: { start: number; stop: number }; lsn?: { start: string; stop: string }; archive?: { start: string; stop: string };
  info: { size: number; delta: number; repository: { size: number; delta: number } };
}

interface RawStanza {
  name: string; cipher: string; status: { code: number; message: string; lock?: { backup?: { held?: boolean } } };
  backup: RawBackup[]; archive: Array<{ min: string | null; max: string | null }>; db: Array<{ version: string }>;
  repo?: Array<{ status: { code: number; message: string } }>;
}

const isoOf = (seconds: number) => new Date(seconds * 1000).toISOString();

function toBackup(raw: RawBackup): PitrBackup {
  return {
    label: raw.label, type: raw.type, ...(raw.prior && { prior: raw.prior }), startedAt: isoOf(raw.timestamp.start), finishedAt: isoOf(raw.timestamp.stop),
    size: raw.info.size, delta: raw.info.delta, repoSize: raw.info.repository.size, repoDelta: raw.info.repository.delta,
    startLsn: raw.lsn?.start ?? '', stopLsn: raw.lsn?.stop ?? '', startWal: raw.archive?.start ?? '', stopWal: raw.archive?.stop ?? '',
    ...(raw.annotation?.tag !== undefined && { tag: raw.annotation.tag }), error: !!raw.error,
  };
}

/** The stanza's part of info's JSON (pure). */
export function parseInfo(json: string, stanza: string): StanzaInfo {
  // pgBackRest 2.45 puts an error's message, line breaks and all, unescaped into the status: blanks are as good.
  const all = JSON.parse(json.replace(/[\u0000-\u001f]+/g, ' ')) as RawStanza[];
  const raw = all.find((s) => s.name === stanza);
  if (!raw) return { stanza, status: { code: 1, message: 'missing stanza path' }, backups: [], cipher: 'none', backupRunning: false };
  const archives = raw.archive.filter((a) => a.min && a.max);
  const last = archives.at(-1);
  return {
    // The repository's own status says why when it could not be read ("other" alone says nothing).
    stanza, status: { code: raw.status.code, message: raw.repo?.find((r) => r.status.code !== 0)?.status.message.trim() || raw.status.message }, cipher: raw.cipher,
    backups: raw.backup.map(toBackup).sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.label.localeCompare(b.label)),
    ...(last && { archive: { min: archives[0].min!, max: last.max! } }),
    pgVersion: raw.db.at(-1)?.version, backupRunning: !!raw.status.lock?.backup?.held,
  };
}

/** The recovery window of these backups and this archive (pure); `lastArchivedAt` from the server, when it was asked. */
export function recoveryWindow(info: StanzaInfo, lastArchivedAt?: string): RecoveryWindow {
  const oldest = info.backups.find((b) => !b.error);
  return {
    ...(oldest && { earliest: { time: oldest.finishedAt, lsn: oldest.stopLsn, backup: oldest.label } }),
    ...(info.archive && { latest: { wal: info.archive.max, ...(lastArchivedAt && { time: lastArchivedAt }) } }),
  };
}

export async function readInfo(ctx: PitrContext, operation: string, signal?: AbortSignal): Promise<StanzaInfo> {
  const result = await runPgbackrest(ctx, 'info', ['--output=json'], { signal, timeoutMs: 300_000 });
  if (failed(result)) {
    throw new TidemarkError('PITR_INFO_FAILED', 'cannot read the repository', { operation, cause: pgbackrestFailure('info', result, ctx), hint: 'check PITR_REPO and its credentials' });
  }
  try {
    return parseInfo(result.stdout, ctx.stanza);
  } catch (err) {
    throw new TidemarkError('PITR_INFO_FAILED', 'cannot read the repository', { operation, cause: `pgbackrest info printed no JSON: ${(err as Error).message}` });
  }
}

/** The info of a stanza that must exist: PITR_NOT_CONFIGURED when pitr:init has not made it. */
export async function readStanza(ctx: PitrContext, operation: string, signal?: AbortSignal): Promise<StanzaInfo> {
  const info = await readInfo(ctx, operation, signal);
  // 0 ok, 2 no valid backup yet, 6 a backup or expire runs: the repository was read. 1 and 3: no stanza; the rest: it could not be.
  if (![0, 1, 2, 3, 6].includes(info.status.code)) {
    throw new TidemarkError('PITR_INFO_FAILED', 'cannot read the repository', {
      operation, cause: `pgBackRest: ${info.status.message.trim()}`, hint: 'check PITR_REPO and its credentials (PITR_S3_*, PITR_CIPHER_PASS)',
    });
  }
  if (info.status.code === 1 || info.status.code === 3) {
    throw new TidemarkError('PITR_NOT_CONFIGURED', `stanza ${ctx.stanza} does not exist in the repository`, {
      operation, cause: `pgBackRest: ${info.status.message}`, hint: 'run `task pitr:init` first (and check PITR_REPO and PITR_STANZA)',
    });
  }
  return info;
}
