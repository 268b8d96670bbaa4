import { createReadStream } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { TidemarkError, describeCause } from '../errors.js';
import { maskSecrets, type DatabaseTarget } from '../connection-string.js';
import { checksumOfBackup, detectArchive, resolveBackupFile, type ArchiveType } from './archive.js';
import { pgRestoreRead, tablesInArchive } from './archive-read.js';
import { requireDatabase, type BackupSettings } from './config.js';
import { encodingForCopy, restoreCopy, type CopyPlan } from './copy.js';
import { dropLeftovers, lookUpDatabase } from './databases.js';
import { readManifest, scanBackupDir, writeManifest, type BackupManifest } from './manifest.js';
import { checkPlainScript, isPlain } from './restore-run.js';
import { querySql, readServerFacts } from './server.js';

function verifyError(operation: string, cause: string, hint?: string): TidemarkError {
  return new TidemarkError('BACKUP_VERIFY_FAILED', 'backup failed verification', { operation, cause, hint });
}

/** Reads every byte of the archive the way a restore would, without a database. */
export async function fullRead(settings: BackupSettings, file: string, type: ArchiveType, operation: string): Promise<void> {
  if (type === 'sql') return;
  if (type === 'sql.gz') {
    await pipeline(createReadStream(file), createGunzip(), new Writable({ write: (_c, _e, done) => done() })).catch((err) => {
      throw verifyError(operation, `${path.basename(file)} is not a complete gzip stream: ${(err as Error).message}`, 'the file is truncated or damaged; restore an earlier backup');
    });
    return;
  }
  const result = await pgRestoreRead(settings, ['--file=/dev/null'], file, operation);
  if (result.code !== 0) {
    throw verifyError(operation, `pg_restore could not read the whole archive:\n${maskSecrets(result.stderr.trim(), [settings.database?.password])}`, 'the file is truncated or damaged; restore an earlier backup');
  }
}

/** Before a restore: the checksum when there is a manifest, else a full read; a damaged file is refused. */
export async function checkIntegrity(settings: BackupSettings, file: string, type: ArchiveType, manifest: BackupManifest | undefined, operation: string): Promise<void> {
  if (manifest) {
    const actual = await checksumOfBackup(file);
    if (actual !== manifest.sha256) {
      throw verifyError(operation, `${path.basename(file)}: SHA-256 ${actual.slice(0, 16)}… does not match the manifest's ${manifest.sha256.slice(0, 16)}…; the file changed after it was written`, 'nothing was changed; restore another backup');
    }
    return;
  }
  await fullRead(settings, file, type, operation);
}

export interface VerifyResult {
  file: string;
  type: ArchiveType;
  checksum: 'ok' | 'no-manifest';
  fullRead: boolean;
  restoreTest?: RestoreTestResult;
  warnings: string[];
}

export interface RestoreTestResult {
  database: string;
  tables: number;
  /** Rows read back, every column of every row through its output function. */
  rows: number;
  encoding?: string;
}

/** Every table of the copy read in full (each row cast to text): bytes the server cannot hold, or a damaged value, fail here. */
async function readEveryTable(settings: BackupSettings, target: DatabaseTarget, database: string, operation: string): Promise<{ tables: string[]; rows: number }> {
  const tables = (await querySql(target, settings.backup.host,
    `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1`, database, operation));
  let rows = 0;
  for (const [quoted, name] of tables) {
    const [[count]] = await querySql(target, settings.backup.host, `SELECT count(*), sum(length(t::text)) FROM ${quoted} t`, database, operation).catch((err: unknown) => {
      throw verifyError(operation, `reading ${name} back from the test restore failed: ${describeCause(err)}`);
    });
    rows += Number(count);
  }
  return { tables: tables.map((t) => t[1]), rows };
}

async function restoreTest(settings: BackupSettings, file: string, type: ArchiveType, manifest: BackupManifest | undefined, warnings: string[], operation: string, signal?: AbortSignal): Promise<RestoreTestResult> {
  const target = requireDatabase(settings, operation);
  if (isPlain(type)) await checkPlainScript(settings, file, type, operation);
  const [facts, found] = await Promise.all([readServerFacts(target, settings.backup.host, settings.migrations.table), lookUpDatabase(settings, target, 'template0', operation)]);
  await dropLeftovers(settings, target).catch(() => []);
  const encoding = await encodingForCopy(settings, file, type, manifest, found.templateEncoding, warnings);
  const plan: CopyPlan = { settings, target, file, type, operation, serverMajor: facts.major, encoding, signal, run: { noOwner: true } };
  const { value, discarded } = await restoreCopy(plan, 'verify', async (scratch) => {
    const read = await readEveryTable(settings, target, scratch, operation);
    const expected = isPlain(type) ? read.tables : await tablesInArchive(settings, file, operation);
    const restored = new Set(read.tables);
    const missing = expected.filter((t) => !restored.has(t));
    if (missing.length) throw verifyError(operation, `tables missing after the test restore: ${missing.join(', ')}`);
    return { database: scratch, tables: expected.length, rows: read.rows, encoding: encoding.encoding };
  }, { dropAfter: true }).catch((err: unknown) => {
    if (!(err instanceof TidemarkError) || err.code !== 'RESTORE_FAILED') throw err;
    throw new TidemarkError('BACKUP_VERIFY_FAILED', 'backup failed verification', { operation, cause: `the test restore failed: ${err.reason}`, hint: err.hint });
  });
  if (discarded && !discarded.dropped) warnings.push(discarded.state);
  return value;
}

/**
 * `backup:verify`: the checksum against the manifest, a full read of the
 * archive, and optionally a restore into a scratch database (created with
 * the archive's encoding, every table read back in full) that is dropped
 * afterwards. Success is recorded in the manifest.
 */
export async function verifyBackup(settings: BackupSettings, fileArg: string | { latest: true }, options: { restoreTest?: boolean; signal?: AbortSignal } = {}): Promise<VerifyResult> {
  const operation = 'verify a backup';
  const file = typeof fileArg === 'string' ? await resolveBackupFile(settings, fileArg, operation) : await latestBackup(settings, operation);
  const type = await detectArchive(file).catch(() => undefined);
  if (!type) throw verifyError(operation, `${path.basename(file)} is not a PostgreSQL dump`);
  const manifest = await readManifest(path.dirname(file), path.basename(file));
  if (manifest) await checkIntegrity(settings, file, type, manifest, operation);
  await fullRead(settings, file, type, operation);
  const warnings: string[] = [];
  const tested = options.restoreTest ? await restoreTest(settings, file, type, manifest, warnings, operation, options.signal) : undefined;
  if (manifest) {
    await writeManifest(path.dirname(file), { ...manifest, verified: { at: new Date().toISOString(), method: tested ? 'restore-test' : 'full-read' } }).catch((err: NodeJS.ErrnoException) => {
      throw new TidemarkError('BACKUP_DIR_INVALID', 'unusable backup directory', { operation, cause: `the backup verified, but its manifest could not be updated (${err.code ?? err.message})`, hint: 'check that BACKUP_DIR is writable' });
    });
  }
  return { file, type, checksum: manifest ? 'ok' : 'no-manifest', fullRead: type !== 'sql', ...(tested && { restoreTest: tested }), warnings };
}

async function latestBackup(settings: BackupSettings, operation: string): Promise<string> {
  const entries = (await scanBackupDir(settings.backup.dir).catch(() => [])).filter((e) => e.manifest && !e.missing && (!settings.database || e.manifest.database === settings.database.database));
  const latest = entries.at(-1);
  if (!latest) throw new TidemarkError('BACKUP_NOT_FOUND', 'no backup to verify', { operation, cause: `no backup written by tidemark in ${settings.backup.dir}`, hint: 'run `task backup` first' });
  return path.join(settings.backup.dir, latest.fileName);
}
