/**
 * The schema a verification starts from, other than an empty database: a
 * backup's schema, or the schema of a live database, dumped (schema only,
 * read-only) into a private temporary directory and restored without owners.
 * Both go through the backup commands' own functions.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Settings } from '../config.js';
import type { DatabaseTarget } from '../connection-string.js';
import { backup } from '../backup/dump.js';
import { restore } from '../backup/restore.js';

export type StartingPoint = { kind: 'empty' } | { kind: 'backup'; file: string } | { kind: 'database'; source: DatabaseTarget };

export function describeStartingPoint(start: StartingPoint): string {
  if (start.kind === 'backup') return `the schema of ${start.file}`;
  if (start.kind === 'database') return `the schema of ${start.source.redacted}`;
  return 'an empty database';
}

async function restoreSchema(settings: Settings, scratch: DatabaseTarget, file: string, signal?: AbortSignal): Promise<void> {
  await restore({ ...settings, database: scratch }, file, { yes: true, schemaOnly: true, noOwner: true, signal });
}

/** pg_dump --schema-only of the source into a directory of this run (mode 0700), removed afterwards. */
async function copySchema(settings: Settings, source: DatabaseTarget, scratch: DatabaseTarget, signal?: AbortSignal): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tidemark-verify-schema-'));
  try {
    const dumpSettings: Settings = { ...settings, database: source, backup: { ...settings.backup, dir, dirConfigured: true } };
    const dumped = await backup(dumpSettings, { kind: 'schema', verify: false, signal });
    await restoreSchema(settings, scratch, dumped.path, signal);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Brings the (empty) scratch database to the starting point. */
export async function prepareStartingPoint(settings: Settings, start: StartingPoint, scratch: DatabaseTarget, signal?: AbortSignal): Promise<void> {
  if (start.kind === 'backup') await restoreSchema(settings, scratch, start.file, signal);
  else if (start.kind === 'database') await copySchema(settings, start.source, scratch, signal);
}
