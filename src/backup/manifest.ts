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
  /** The source database's encoding, collation and ctype at backup time: a restore with --new creates the copy with them. */
  encoding?: string;
  collate?: string;
  ctype?: string;
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

/** Why a manifest cannot be used, in plain words; undefined when it can. */
function manifestProblem(parsed: unknown, fileName: string): string | undefined {
  const m = parsed as Partial<BackupManifest> | null;
  if (!m || typeof m !== 'object') return 'manifest corrupt: not a JSON object';
  if (m.tool !== 'tidemark') return 'manifest not written by tidemark';
  if (m.file !== fileName) return `manifest corrupt: it describes ${String(m.file)}`;
  if (typeof m.size !== 'number' || typeof m.sha256 !== 'string' || typeof m.startedAt !== 'string' || Number.isNaN(Date.parse(m.startedAt))) {
    return 'manifest corrupt: size, sha256 or startedAt missing';
  }
  return undefined;
}

/** A backup's manifest, or why it cannot be used (unreadable, not JSON, not tidemark's). */
export async function readManifestFile(dir: string, fileName: string): Promise<{ manifest?: BackupManifest; problem?: string }> {
  let text: string;
  try {
    text = await readFile(path.join(dir, manifestName(fileName)), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { problem: code === 'ENOENT' ? 'no manifest' : `manifest unreadable (${code ?? (err as Error).message})` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { problem: 'manifest corrupt: not valid JSON' };
  }
  const problem = manifestProblem(parsed, fileName);
  return problem ? { problem } : { manifest: parsed as BackupManifest };
}

export async function readManifest(dir: string, fileName: string): Promise<BackupManifest | undefined> {
  return (await readManifestFile(dir, fileName)).manifest;
}

const DUMP_LIKE = /\.(dump|dir|backup|tar|sql|sql\.gz)$/;

export interface DirectoryEntry {
  fileName: string;
  manifest?: BackupManifest;
  /** A manifest is there but cannot be used: why. */
  manifestProblem?: string;
  /** The dump itself is missing (only its manifest is there). */
  missing: boolean;
}

/**
 * Backups in a directory: those with a manifest (usable or not), and
 * dump-like files without one (written by something else).
 */
export async function scanBackupDir(dir: string): Promise<DirectoryEntry[]> {
  const names = await readdir(dir);
  const present = new Set(names);
  const entries: DirectoryEntry[] = [];
  for (const name of names) {
    if (name.startsWith('.')) continue;
    if (name.endsWith(MANIFEST_SUFFIX)) {
      const fileName = name.slice(0, -MANIFEST_SUFFIX.length);
      const { manifest, problem } = await readManifestFile(dir, fileName);
      entries.push({ fileName, ...(manifest ? { manifest } : { manifestProblem: problem }), missing: !present.has(fileName) });
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
