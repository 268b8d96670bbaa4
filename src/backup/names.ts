/** Backup file names: `<db>_<YYYYMMDD_HHMMSS>[_schema|_data].dump`, timestamps in UTC. */
export type BackupKind = 'full' | 'schema' | 'data';
export type BackupFormat = 'custom' | 'directory';

const pad = (n: number) => String(n).padStart(2, '0');

export function timestampOf(date: Date): string {
  return `${date.getUTCFullYear()}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}_${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}`;
}

/** Keeps a database name usable in a file name without losing what it is. */
export function safeFilePart(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_') || 'db';
}

/** `attempt` > 1 only when a backup of the same second exists already: names are never reused. */
export function backupFileName(database: string, startedAt: Date, kind: BackupKind, format: BackupFormat, attempt = 1): string {
  const suffix = `${kind === 'full' ? '' : `_${kind}`}${attempt > 1 ? `_${attempt}` : ''}`;
  return `${safeFilePart(database)}_${timestampOf(startedAt)}${suffix}.${format === 'directory' ? 'dir' : 'dump'}`;
}

export const MANIFEST_SUFFIX = '.manifest.json';
export const manifestName = (fileName: string) => `${fileName}${MANIFEST_SUFFIX}`;

/** In-progress files are hidden and carry the writer's pid, so a later run can clear those of dead runs. */
export function partialName(fileName: string, pid = process.pid): string {
  return `.${fileName}.partial-${pid}`;
}

export function parsePartialName(name: string): { fileName: string; pid: number } | undefined {
  const match = name.match(/^\.(.+)\.partial-(\d+)$/);
  return match ? { fileName: match[1], pid: Number(match[2]) } : undefined;
}

/** Whether a file name is one that backup gives to a dump of this database. */
export function isBackupNameOf(fileName: string, database: string): boolean {
  const prefix = `${safeFilePart(database)}_`;
  return fileName.startsWith(prefix) && /^\d{8}_\d{6}(?:_schema|_data)?(?:_\d+)?\.(?:dump|dir)$/.test(fileName.slice(prefix.length));
}

/** The backup a leftover of an interrupted run belongs to: its partial dump, or its manifest's temporary file. */
export function leftoverOf(name: string): string | undefined {
  return parsePartialName(name)?.fileName ?? name.match(/^\.(.+)\.manifest\.json\.tmp-\d+$/)?.[1];
}
