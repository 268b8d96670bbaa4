import path from 'node:path';
import { constants } from 'node:fs';
import { access, rm, stat, statfs } from 'node:fs/promises';
import { TidemarkError } from '../errors.js';
import type { BackupSettings } from './config.js';
import { scanBackupDir, sizeOf, type BackupManifest, type DirectoryEntry } from './manifest.js';
import { manifestName } from './names.js';
import { applyRetention, type KeepReason, type RetentionPolicy } from './retention.js';

/** What is wrong with a listed backup, if anything. */
export type BackupStatus = 'ok' | 'missing' | 'size-differs' | 'manifest-corrupt' | 'not-tidemark';

export interface BackupListEntry {
  file: string;
  /** Written by tidemark (has a usable manifest), or found beside them. */
  managed: boolean;
  missing: boolean;
  status: BackupStatus;
  /** The status in plain words, when it is not ok. */
  problem?: string;
  database?: string;
  kind?: string;
  format?: string;
  /** Bytes on disk now (0 when missing). */
  size: number;
  /** Bytes the manifest recorded. */
  recordedSize?: number;
  startedAt?: string;
  ageMs?: number;
  serverVersion?: string;
  pgDumpVersion?: string;
  schemaVersion?: BackupManifest['schemaVersion'];
  tag?: string;
  pinned: boolean;
  /** Verified when written or by backup:verify, and still there at its recorded size. */
  verified: boolean;
  verifiedAt?: string;
  sha256?: string;
}

// Kernel filesystems (proc, sysfs, devpts, debugfs, cgroup, cgroup2, securityfs, tracefs, bpf): never a backup directory.
const PSEUDO_FILESYSTEMS = new Set([0x9fa0, 0x62656572, 0x1cd1, 0x64626720, 0x27e0eb, 0x63677270, 0x73636673, 0x74726163, 0xcafe4a11]);

function dirInvalid(settings: BackupSettings, operation: string, cause: string): TidemarkError {
  return new TidemarkError('BACKUP_DIR_INVALID', 'unusable backup directory', { operation: `${operation} in ${settings.backup.dir}`, cause, hint: 'check BACKUP_DIR (or --backup-dir)' });
}

const unreadable = (err: NodeJS.ErrnoException) => `cannot be read (${err.code ?? err.message})`;

async function readableDir(settings: BackupSettings, operation: string): Promise<void> {
  const info = await stat(settings.backup.dir).catch(() => undefined);
  if (!info?.isDirectory()) throw dirInvalid(settings, operation, info ? 'not a directory' : 'the directory does not exist');
  const fs = await statfs(settings.backup.dir).catch(() => undefined);
  if (fs && PSEUDO_FILESYSTEMS.has(Number(fs.type))) throw dirInvalid(settings, operation, 'a kernel filesystem (such as /proc or /sys), not a place for backups');
  await access(settings.backup.dir, constants.R_OK | constants.X_OK).catch((err: NodeJS.ErrnoException) => {
    throw dirInvalid(settings, operation, unreadable(err));
  });
}

async function scan(settings: BackupSettings, operation: string): Promise<DirectoryEntry[]> {
  await readableDir(settings, operation);
  return scanBackupDir(settings.backup.dir).catch((err: NodeJS.ErrnoException) => {
    throw dirInvalid(settings, operation, unreadable(err));
  });
}

function statusOf(entry: DirectoryEntry, size: number | undefined): Pick<BackupListEntry, 'status' | 'problem'> {
  const m = entry.manifest;
  if (!m && entry.manifestProblem) {
    return { status: 'manifest-corrupt', problem: entry.missing ? `${entry.manifestProblem}; the dump is missing` : entry.manifestProblem };
  }
  if (!m) return { status: 'not-tidemark', problem: 'no manifest: not written by tidemark' };
  if (entry.missing || size === undefined) return { status: 'missing', problem: 'the dump is missing; only its manifest is left' };
  if (size !== m.size) return { status: 'size-differs', problem: `${size} bytes on disk; the manifest recorded ${m.size}` };
  return { status: 'ok' };
}

async function describeEntry(dir: string, entry: DirectoryEntry, now: Date): Promise<BackupListEntry> {
  const size = entry.missing ? undefined : await sizeOf(path.join(dir, entry.fileName)).catch(() => undefined);
  const status = statusOf(entry, size);
  const m = entry.manifest;
  const base = { file: entry.fileName, missing: entry.missing || size === undefined, size: size ?? 0, ...status };
  if (!m) return { ...base, managed: false, pinned: false, verified: false };
  return {
    ...base, managed: true, database: m.database, kind: m.kind, format: m.format, recordedSize: m.size, startedAt: m.startedAt,
    ageMs: now.getTime() - Date.parse(m.startedAt), serverVersion: m.serverVersion, pgDumpVersion: m.pgDumpVersion, schemaVersion: m.schemaVersion,
    tag: m.tag, pinned: m.pinned, verified: !!m.verified && status.status === 'ok', verifiedAt: m.verified?.at, sha256: m.sha256,
  };
}

/** `backup:list`: every file in BACKUP_DIR that looks like a backup, oldest first, with what is wrong with it. */
export async function listBackups(settings: BackupSettings, now = new Date()): Promise<BackupListEntry[]> {
  const entries = await scan(settings, 'list backups');
  return Promise.all(entries.map((entry) => describeEntry(settings.backup.dir, entry, now)));
}

export interface PruneResult {
  dryRun: boolean;
  kept: Array<{ file: string; reasons: KeepReason[] }>;
  deleted: string[];
  /** Files tidemark did not write: never touched. */
  ignored: string[];
}

/** `backup:prune`: retention per database and kind; deletes only backups tidemark wrote. */
export async function pruneBackups(settings: BackupSettings, policy: RetentionPolicy, options: { dryRun?: boolean } = {}): Promise<PruneResult> {
  for (const [name, value] of Object.entries(policy)) {
    if (!Number.isInteger(value) || value < 0) throw new TidemarkError('INVALID_ARGUMENT', 'invalid retention', { operation: 'prune backups', cause: `${name} must be a whole number ≥ 0, not ${value}` });
  }
  const entries = await scan(settings, 'prune backups');
  const groups = new Map<string, Array<{ fileName: string; manifest: BackupManifest }>>();
  for (const e of entries) {
    if (!e.manifest || e.missing) continue;
    const key = `${e.manifest.database}\0${e.manifest.kind}`;
    groups.set(key, [...(groups.get(key) ?? []), { fileName: e.fileName, manifest: e.manifest }]);
  }
  const result: PruneResult = { dryRun: !!options.dryRun, kept: [], deleted: [], ignored: entries.filter((e) => !e.manifest && !e.missing).map((e) => e.fileName) };
  for (const group of groups.values()) {
    const decisions = applyRetention(group.map(({ fileName, manifest }) => ({ id: fileName, startedAt: new Date(manifest.startedAt), pinned: manifest.pinned, verified: !!manifest.verified })), policy);
    for (const [file, reasons] of decisions) {
      if (reasons.length) result.kept.push({ file, reasons });
      else result.deleted.push(file);
    }
  }
  if (!options.dryRun) {
    for (const file of result.deleted) {
      await rm(path.join(settings.backup.dir, file), { recursive: true, force: true });
      await rm(path.join(settings.backup.dir, manifestName(file)), { force: true });
    }
  }
  result.kept.sort((a, b) => a.file.localeCompare(b.file));
  result.deleted.sort();
  return result;
}

export interface CheckResult {
  file: string;
  ageMs: number;
  maxAgeMs: number;
  /** Newer backups that do not count, and why (missing, size differs, not verified, manifest corrupt). */
  passedOver: Array<{ file: string; problem: string }>;
}

const hours = (ms: number) => `${(ms / 3_600_000).toFixed(1)}h`;

/**
 * `backup:check`: the newest backup that is there at the size its manifest
 * recorded and was verified must be younger than maxAge. Cheap by design: a
 * size check, not a hash (`backup:verify` reads the whole file).
 */
export async function checkBackups(settings: BackupSettings, maxAgeMs: number, now = new Date()): Promise<CheckResult> {
  const operation = 'check backup freshness';
  const database = settings.database?.database;
  const all = (await listBackups(settings, now)).filter((e) => !database || !e.managed || e.database === database);
  const newestFirst = all.filter((e) => e.managed).sort((a, b) => (b.startedAt ?? '').localeCompare(a.startedAt ?? ''));
  const newest = newestFirst.find((e) => e.verified);
  const passedOver = [
    ...newestFirst.slice(0, newest ? newestFirst.indexOf(newest) : undefined).map((e) => ({ file: e.file, problem: e.problem ?? 'not verified' })),
    ...all.filter((e) => e.status === 'manifest-corrupt').map((e) => ({ file: e.file, problem: e.problem! })),
  ];
  const skipped = passedOver.length ? `; passed over: ${passedOver.map((p) => `${p.file} (${p.problem})`).join(', ')}` : '';
  if (!newest) {
    throw new TidemarkError('BACKUP_STALE', 'no verified backup', {
      operation, cause: `no verified backup${database ? ` of ${database}` : ''} in ${settings.backup.dir} that is there at its recorded size${skipped}`,
      hint: 'run `task backup` (it verifies by default) or `task backup:verify --latest`', data: { passedOver },
    });
  }
  if (newest.ageMs! > maxAgeMs) {
    throw new TidemarkError('BACKUP_STALE', 'the newest verified backup is too old', {
      operation, cause: `${newest.file} is ${hours(newest.ageMs!)} old; the limit is ${hours(maxAgeMs)}${skipped}`, hint: 'check the backup cron job and its log', data: { file: newest.file, ageMs: newest.ageMs, maxAgeMs, passedOver },
    });
  }
  return { file: newest.file, ageMs: newest.ageMs!, maxAgeMs, passedOver };
}
