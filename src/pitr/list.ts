/** `pitr:list`: the backups of the stanza and the recovery window, from pgBackRest's info. */
import type { SettingsWithoutDatabase } from '../config.js';
import { describeCause } from '../errors.js';
import { openPitr } from './context.js';
import { readStanza, recoveryWindow, type PitrBackup, type RecoveryWindow } from './info.js';
import { readPitrManifests } from './manifest.js';
import { readArchiverStatus, withServer } from './server.js';
import { describeRepository } from '../pitr-settings.js';

export interface PitrListEntry extends PitrBackup {
  /** tidemark wrote a manifest for it (pitr:backup made it). */
  manifest: boolean;
  pinned: boolean;
  ageMs: number;
}

export interface PitrList {
  stanza: string;
  repository: string;
  status: { code: number; message: string };
  backups: PitrListEntry[];
  archive?: { min: string; max: string };
  window: RecoveryWindow;
  /** Why the latest point has no time: the server could not be asked. */
  serverNote?: string;
}

/** When the server archived its last segment; a note instead when it cannot be asked. */
async function lastArchived(settings: SettingsWithoutDatabase): Promise<{ time?: string; note?: string }> {
  if (!settings.database) return { note: 'no DATABASE_URL: the time of the last archived segment is unknown' };
  try {
    const status = await withServer(settings.database, 'read pg_stat_archiver', readArchiverStatus);
    return { time: status.lastArchivedAt };
  } catch (err) {
    return { note: `the server could not be asked when it last archived: ${describeCause(err)}` };
  }
}

export async function pitrList(settings: SettingsWithoutDatabase, now = new Date()): Promise<PitrList> {
  const operation = 'list physical backups';
  const ctx = await openPitr(settings, operation);
  const info = await readStanza(ctx, operation);
  const manifests = await readPitrManifests(settings.backup.dir, ctx.stanza);
  const archived = await lastArchived(settings);
  const backups = info.backups.map((b) => {
    const m = manifests.get(b.label);
    return { ...b, tag: b.tag ?? m?.tag, manifest: !!m, pinned: !!m?.pinned, ageMs: now.getTime() - Date.parse(b.finishedAt) };
  });
  return {
    stanza: ctx.stanza, repository: describeRepository(settings.pitr.repo), status: info.status, backups,
    ...(info.archive && { archive: info.archive }), window: recoveryWindow(info, archived.time), ...(archived.note && { serverNote: archived.note }),
  };
}
