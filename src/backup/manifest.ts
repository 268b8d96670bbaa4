import { open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { MANIFEST_SUFFIX, manifestName, type BackupFormat, type BackupKind } from './names.js';

/** The JSON written beside each backup; list, restore, verify and prune read it. Never holds a secret. */
export interface BackupManifest {
  tool: 'tidemark';
  manifestVersion: 1;
  file: string;
  database: string;
  kind: BackupKind;
  format: BackupFormat;
  compression?: string;
  serverVersion: string;
  pgDumpVersion: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  size: number;
  sha256: string;
  /** Directory format: each file's size and hash. */
  files?: Array<{ name: string; size: number; sha256: string }>;
  tag?: string;
  pinned: boolean;
  /** The schema_migrations version at the time of the dump, if there was one. */
  schemaVersion: { version: string | null; dirty: boolean } | null;
  verified?: { at: string; method: 'full-read' | 'restore-test' };
  /** Where the tools ran: "locally", or in which container. */
  ranOn: string;
}

export function isPinningTag(tag: string | undefined): boolean {
  return !!tag && /^(pre-deploy|pin):/.test(tag);
}

/** Writes a file durably under its final name: temp file, fsync, rename. */
export async function writeFileAtomic(file: string, content: string): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}`);
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  await rename(temp, file);
}

export async function writeManifest(dir: string, manifest: BackupManifest): Promise<void> {
  await writeFileAtomic(path.join(dir, manifestName(manifest.file)), `${JSON.stringify(manifest, null, 2)}\n`);
}

export async function readManifest(dir: string, fileName: string): Promise<BackupManifest | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path.join(dir, manifestName(fileName)), 'utf8')) as BackupManifest;
    return parsed.tool === 'tidemark' && parsed.file === fileName ? parsed : undefined;
  } catch {
    return undefined;
  }
}

const DUMP_LIKE = /\.(dump|dir|backup|tar|sql|sql\.gz)$/;

export interface DirectoryEntry {
  fileName: string;
  manifest?: BackupManifest;
  /** The dump itself is missing (only its manifest is there). */
  missing: boolean;
}

/** Backups in a directory: those with a manifest, and dump-like files without one (written by something else). */
export async function scanBackupDir(dir: string): Promise<DirectoryEntry[]> {
  const names = await readdir(dir);
  const present = new Set(names);
  const entries: DirectoryEntry[] = [];
  for (const name of names) {
    if (name.startsWith('.')) continue;
    if (name.endsWith(MANIFEST_SUFFIX)) {
      const fileName = name.slice(0, -MANIFEST_SUFFIX.length);
      const manifest = await readManifest(dir, fileName);
      if (manifest) entries.push({ fileName, manifest, missing: !present.has(fileName) });
    } else if (DUMP_LIKE.test(name) && !present.has(manifestName(name))) {
      entries.push({ fileName: name, missing: false });
    }
  }
  return entries.sort((a, b) => (a.manifest?.startedAt ?? '').localeCompare(b.manifest?.startedAt ?? '') || a.fileName.localeCompare(b.fileName));
}

export async function sizeOf(target: string): Promise<number> {
  const info = await stat(target);
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const name of await readdir(target)) total += (await stat(path.join(target, name))).size;
  return total;
}
