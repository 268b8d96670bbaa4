/**
 * tidemark's record of a physical backup, in BACKUP_DIR beside the logical
 * ones: `<stanza>_<label>.pitr.json`. Its suffix keeps it out of the logical
 * commands' way (they read `*.manifest.json`). Never holds a secret.
 */
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { isPinningTag, writeFileAtomic } from '../backup/manifest.js';
import type { PitrBackupType } from './info.js';

export const PITR_MANIFEST_SUFFIX = '.pitr.json';

export interface PitrManifest {
  tool: 'tidemark';
  manifestVersion: 1;
  kind: 'pitr';
  stanza: string;
  label: string;
  type: PitrBackupType;
  prior?: string;
  database?: string;
  serverVersion?: string;
  pgbackrestVersion: string;
  /** The repository, without a secret: a directory or `s3://bucket/prefix at endpoint`. */
  repository: string;
  /** pgBackRest's start and stop of the backup. */
  startedAt: string;
  finishedAt: string;
  startLsn: string;
  stopLsn: string;
  startWal: string;
  stopWal: string;
  /** Database size, and bytes this backup put in the repository. */
  size: number;
  repoDelta: number;
  /** How long the whole pitr:backup took. */
  durationMs: number;
  tag?: string;
  pinned: boolean;
}

export const pitrManifestName = (stanza: string, label: string) => `${stanza}_${label}${PITR_MANIFEST_SUFFIX}`;

export async function writePitrManifest(dir: string, manifest: PitrManifest): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, pitrManifestName(manifest.stanza, manifest.label));
  await writeFileAtomic(file, `${JSON.stringify(manifest, null, 2)}\n`);
  return file;
}

export { isPinningTag };

/** The manifests of a stanza in BACKUP_DIR, by label; unreadable ones are left out. */
export async function readPitrManifests(dir: string, stanza: string): Promise<Map<string, PitrManifest>> {
  const found = new Map<string, PitrManifest>();
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.startsWith(`${stanza}_`) && n.endsWith(PITR_MANIFEST_SUFFIX))) {
    try {
      const m = JSON.parse(await readFile(path.join(dir, name), 'utf8')) as PitrManifest;
      if (m.tool === 'tidemark' && m.kind === 'pitr' && m.stanza === stanza && name === pitrManifestName(stanza, m.label)) found.set(m.label, m);
    } catch {
      // Not ours to judge: pitr:list shows the backups from pgBackRest either way.
    }
  }
  return found;
}

/** Removes the manifests of backups the repository no longer has. */
export async function removeManifestsOf(dir: string, stanza: string, labels: string[]): Promise<void> {
  for (const label of labels) await rm(path.join(dir, pitrManifestName(stanza, label)), { force: true });
}
