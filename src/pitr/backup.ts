/**
 * `pitr:backup`: pgBackRest's backup of the cluster, then tidemark's manifest
 * of it. A stopped run (SIGINT, SIGTERM) stops pgBackRest, which leaves its
 * repository consistent (the next backup resumes or removes the partial
 * one), and writes no manifest.
 */
import type { Settings } from '../config.js';
import { abortSignalName, interruptedError, TidemarkError } from '../errors.js';
import { failed } from '../pgtools/run.js';
import { clusterFromServer, openPitr } from './context.js';
import { readStanza, type PitrBackup, type PitrBackupType } from './info.js';
import { isPinningTag, writePitrManifest, type PitrManifest } from './manifest.js';
import { readServerFacts, withServer, type ServerFacts } from './server.js';
import { describeRepository } from '../pitr-settings.js';
import { pgbackrestFailure, startPgbackrest, versionAtLeast } from './tool.js';

export interface PitrBackupOptions {
  /** Default: pgBackRest's choice (incr, or full when there is none). */
  type?: PitrBackupType;
  tag?: string;
  signal?: AbortSignal;
}

export interface PitrBackupResult {
  manifest: PitrManifest;
  /** The manifest file in BACKUP_DIR. */
  path: string;
}

export const PITR_BACKUP_STATE = 'pgBackRest was stopped; the repository stays consistent: the partial backup is resumed or removed '
  + 'by the next pitr:backup, and no tidemark manifest was written';

/** The tag also goes to pgBackRest as an annotation where it takes them (2.41 on); the manifest keeps it either way. */
function backupOptions(options: PitrBackupOptions, version: string): string[] {
  const annotate = options.tag !== undefined && versionAtLeast(version, '2.41');
  return [...(options.type ? [`--type=${options.type}`] : []), ...(annotate ? [`--annotation=tag=${options.tag}`] : [])];
}

export async function pitrBackup(settings: Settings, options: PitrBackupOptions = {}): Promise<PitrBackupResult> {
  const operation = 'back up the cluster (pgBackRest)';
  const started = Date.now();
  if (options.tag !== undefined && /[\n=]/.test(options.tag)) throw new TidemarkError('INVALID_ARGUMENT', 'invalid tag', { operation, cause: 'a tag holds no newline and no `=`' });
  const facts: ServerFacts = await withServer(settings.database, operation, readServerFacts);
  const ctx = await openPitr(settings, operation, clusterFromServer(settings, facts, settings.database, operation), settings.database);
  const before = new Set((await readStanza(ctx, operation)).backups.map((b) => b.label));
  const running = await startPgbackrest(ctx, 'backup', backupOptions(options, ctx.tool.version), { signal: options.signal, stdout: 'collect' });
  const result = await running.output;
  if (options.signal?.aborted) throw interruptedError(abortSignalName(options.signal), operation, PITR_BACKUP_STATE);
  if (failed(result)) {
    throw new TidemarkError('PITR_BACKUP_FAILED', 'pgbackrest backup failed', {
      operation, cause: pgbackrestFailure('backup', result, ctx), hint: 'pgBackRest\'s log is in PITR_DIR/log; `task pitr:init` checks the setup',
    });
  }
  const made = (await readStanza(ctx, operation)).backups.filter((b) => !before.has(b.label)).at(-1);
  if (!made) {
    throw new TidemarkError('PITR_BACKUP_FAILED', 'the new backup is not in the repository', { operation, cause: 'pgbackrest backup succeeded, but pgbackrest info lists no new backup' });
  }
  const manifest = manifestOf(made, {
    stanza: ctx.stanza, database: settings.database.database, serverVersion: facts.version, pgbackrestVersion: ctx.tool.version,
    repository: describeRepository(settings.pitr.repo), durationMs: Date.now() - started, tag: options.tag,
  });
  return { manifest, path: await writePitrManifest(settings.backup.dir, manifest) };
}

interface ManifestContext { stanza: string; database?: string; serverVersion?: string; pgbackrestVersion: string; repository: string; durationMs: number; tag?: string }

export function manifestOf(b: PitrBackup, c: ManifestContext): PitrManifest {
  return {
    tool: 'tidemark', manifestVersion: 1, kind: 'pitr', stanza: c.stanza, label: b.label, type: b.type, ...(b.prior && { prior: b.prior }),
    database: c.database, serverVersion: c.serverVersion, pgbackrestVersion: c.pgbackrestVersion, repository: c.repository,
    startedAt: b.startedAt, finishedAt: b.finishedAt, startLsn: b.startLsn, stopLsn: b.stopLsn, startWal: b.startWal, stopWal: b.stopWal,
    size: b.size, repoDelta: b.repoDelta, durationMs: c.durationMs, ...(c.tag !== undefined && { tag: c.tag }), pinned: isPinningTag(c.tag),
  };
}
