import path from 'node:path';
import { rm, stat } from 'node:fs/promises';
import { TidemarkError } from '../errors.js';
import type { BackupSettings } from './config.js';
import { scanBackupDir, sizeOf, type BackupManifest } from './manifest.js';
import { manifestName } from './names.js';
import { applyRetention, type KeepReason, type RetentionPolicy } from './retention.js';

export interface BackupListEntry {
  file: string;
  /** Written by tidemark (has a manifest), or found beside them. */
  managed: boolean;
  missing: boolean;
  database?: string;
  kind?: string;
  format?: string;
  size: number;
  startedAt?: string;
  ageMs?: number;
  serverVersion?: string;
  pgDumpVersion?: string;
  schemaVersion?: BackupManifest['schemaVersion'];
  tag?: string;
  pinned: boolean;
  verified: boolean;
  verifiedAt?: string;
  sha256?: string;
}

async function readableDir(settings: BackupSettings, operation: string): Promise<void> {
  const info = await stat(settings.dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new TidemarkError('BACKUP_DIR_INVALID', 'unusable backup directory', { operation: `${operation} in ${settings.dir}`, cause: info ? 'not a directory' : 'the directory does not exist', hint: 'check BACKUP_DIR' });
  }
}

/** `backup:list`: every backup in BACKUP_DIR, oldest first. */
export async function listBackups(settings: BackupSettings, now = new Date()): Promise<BackupListEntry[]> {
  await readableDir(settings, 'list backups');
  const entries = await scanBackupDir(settings.dir);
  return Promise.all(entries.map(async ({ fileName, manifest: m, missing }) => {
    const size = missing ? 0 : await sizeOf(path.join(settings.dir, fileName)).catch(() => 0);
    if (!m) return { file: fileName, managed: false, missing, size, pinned: false, verified: false };
    return {
      file: fileName, managed: true, missing, database: m.database, kind: m.kind, format: m.format, size, startedAt: m.startedAt,
      ageMs: now.getTime() - Date.parse(m.startedAt), serverVersion: m.serverVersion, pgDumpVersion: m.pgDumpVersion, schemaVersion: m.schemaVersion,
      tag: m.tag, pinned: m.pinned, verified: !!m.verified, verifiedAt: m.verified?.at, sha256: m.sha256,
    };
  }));
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
  await readableDir(settings, 'prune backups');
  const entries = await scanBackupDir(settings.dir);
  const groups = new Map<string, Array<{ fileName: string; manifest: BackupManifest }>>();
  for (const e of entries) {
    if (!e.manifest || e.missing) continue;
    const key = `${e.manifest.database}\0${e.manifest.kind}`;
    groups.set(key, [...(groups.get(key) ?? []), { fileName: e.fileName, manifest: e.manifest }]);
  }
  const result: PruneResult = { dryRun: !!options.dryRun, kept: [], deleted: [], ignored: entries.filter((e) => !e.manifest).map((e) => e.fileName) };
  for (const group of groups.values()) {
    const decisions = applyRetention(group.map(({ fileName, manifest }) => ({ id: fileName, startedAt: new Date(manifest.startedAt), pinned: manifest.pinned, verified: !!manifest.verified })), policy);
    for (const [file, reasons] of decisions) {
      if (reasons.length) result.kept.push({ file, reasons });
      else result.deleted.push(file);
    }
  }
  if (!options.dryRun) {
    for (const file of result.deleted) {
      await rm(path.join(settings.dir, file), { recursive: true, force: true });
      await rm(path.join(settings.dir, manifestName(file)), { force: true });
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
}

/** `backup:check`: the newest verified backup must be younger than maxAge. */
export async function checkBackups(settings: BackupSettings, maxAgeMs: number, now = new Date()): Promise<CheckResult> {
  const operation = 'check backup freshness';
  const list = (await listBackups(settings, now)).filter((e) => e.verified && !e.missing && (!settings.database || e.database === settings.database.database));
  const newest = list.sort((a, b) => (a.startedAt ?? '').localeCompare(b.startedAt ?? '')).at(-1);
  const hours = (ms: number) => `${(ms / 3_600_000).toFixed(1)}h`;
  if (!newest) {
    throw new TidemarkError('BACKUP_STALE', 'no verified backup', { operation, cause: `no verified backup${settings.database ? ` of ${settings.database.database}` : ''} in ${settings.dir}`, hint: 'run `task backup` (it verifies by default) or `task backup:verify --latest`' });
  }
  if (newest.ageMs! > maxAgeMs) {
    throw new TidemarkError('BACKUP_STALE', 'the newest verified backup is too old', {
      operation, cause: `${newest.file} is ${hours(newest.ageMs!)} old; the limit is ${hours(maxAgeMs)}`, hint: 'check the backup cron job and its log', data: { file: newest.file, ageMs: newest.ageMs, maxAgeMs },
    });
  }
  return { file: newest.file, ageMs: newest.ageMs!, maxAgeMs };
}
