import { createReadStream } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { TidemarkError } from '../errors.js';
import { maskSecrets } from '../connection-string.js';
import { prepareTool, spawnTool } from '../pgtools/exec.js';
import { checksumOfBackup, detectArchive, type ArchiveType } from './archive.js';
import { chooseClient } from './client.js';
import { requireDatabase, type BackupSettings } from './config.js';
import { readManifest, scanBackupDir, writeManifest, type BackupManifest } from './manifest.js';
import { createDatabase, dropDatabase, resolveBackupFile, restoreInto } from './restore.js';
import { querySql } from './server.js';

function verifyError(operation: string, cause: string, hint?: string): TidemarkError {
  return new TidemarkError('BACKUP_VERIFY_FAILED', 'backup failed verification', { operation, cause, hint });
}

/**
 * pg_restore over an archive without a database (`--list`, or a full read
 * into /dev/null): locally with the file's path, or inside the container with
 * the archive on stdin.
 */
async function pgRestoreRead(settings: BackupSettings, args: string[], file: string, operation: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const tool = await chooseClient('pg_restore', settings.database, settings.host, settings.env, operation);
  const local = settings.host.kind === 'local';
  const cmd = settings.database && !local
    ? await prepareTool('pg_restore', args, settings.database, settings.host)
    : { file: tool.path ?? 'pg_restore', args: [...args, file], env: { ...process.env }, cleanup: async () => undefined };
  const spawned = spawnTool(cmd, [local ? 'ignore' : 'pipe', 'pipe', 'pipe']);
  let stdout = '';
  spawned.child.stdout!.on('data', (d) => (stdout += d));
  const feeding = local ? Promise.resolve() : pipeline(createReadStream(file), spawned.child.stdin!).catch(() => undefined);
  const [result] = await Promise.all([spawned.done, feeding]);
  return { code: result.code, stdout, stderr: result.stderr };
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

/** The pg_dump version written in an archive's header (custom, directory, tar). */
export async function dumpVersionOf(settings: BackupSettings, file: string, type: ArchiveType): Promise<string | undefined> {
  if (type === 'sql' || type === 'sql.gz') return undefined;
  const result = await pgRestoreRead(settings, ['--list'], file, 'read the archive header').catch(() => undefined);
  return result?.stdout.match(/Dumped by pg_dump version: (\d+(?:\.\d+)?)/)?.[1];
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
  restoreTest?: { database: string; tables: number };
}

async function tablesInArchive(settings: BackupSettings, file: string, operation: string): Promise<string[]> {
  const result = await pgRestoreRead(settings, ['--list'], file, operation);
  return result.stdout.split('\n').map((line) => line.match(/^\d+; \d+ \d+ TABLE (?!DATA )(\S+) (\S+) /)).filter((m): m is RegExpMatchArray => !!m).map((m) => `${m[1]}.${m[2]}`);
}

async function restoreTest(settings: BackupSettings, file: string, type: ArchiveType, operation: string): Promise<{ database: string; tables: number }> {
  const target = requireDatabase(settings, operation);
  const scratch = `tidemark_verify_${randomBytes(4).toString('hex')}`;
  await createDatabase(settings, target, scratch);
  try {
    await restoreInto(settings, file, type, scratch, { noOwner: true }).catch((err) => {
      throw verifyError(operation, `the test restore into ${scratch} failed: ${(err as TidemarkError).reason ?? (err as Error).message}`);
    });
    const restored = new Set((await querySql(target, settings.host, `SELECT schemaname || '.' || tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`, scratch, operation)).map((r) => r[0]));
    const expected = type === 'sql' || type === 'sql.gz' ? [...restored] : await tablesInArchive(settings, file, operation);
    const missing = expected.filter((t) => !restored.has(t));
    if (missing.length) throw verifyError(operation, `tables missing after the test restore: ${missing.join(', ')}`);
    return { database: scratch, tables: expected.length };
  } finally {
    await dropDatabase(settings, target, scratch).catch(() => undefined);
  }
}

/**
 * `backup:verify`: the checksum against the manifest, a full read of the
 * archive, and optionally a restore into a scratch database that is dropped
 * afterwards. Success is recorded in the manifest.
 */
export async function verifyBackup(settings: BackupSettings, fileArg: string | { latest: true }, options: { restoreTest?: boolean } = {}): Promise<VerifyResult> {
  const operation = 'verify a backup';
  const file = typeof fileArg === 'string' ? await resolveBackupFile(settings, fileArg, operation) : await latestBackup(settings, operation);
  const type = await detectArchive(file).catch(() => undefined);
  if (!type) throw verifyError(operation, `${path.basename(file)} is not a PostgreSQL dump`);
  const manifest = await readManifest(path.dirname(file), path.basename(file));
  if (manifest) await checkIntegrity(settings, file, type, manifest, operation);
  await fullRead(settings, file, type, operation);
  const tested = options.restoreTest ? await restoreTest(settings, file, type, operation) : undefined;
  if (manifest) {
    await writeManifest(path.dirname(file), { ...manifest, verified: { at: new Date().toISOString(), method: tested ? 'restore-test' : 'full-read' } });
  }
  return { file, type, checksum: manifest ? 'ok' : 'no-manifest', fullRead: type !== 'sql', ...(tested && { restoreTest: tested }) };
}

async function latestBackup(settings: BackupSettings, operation: string): Promise<string> {
  const entries = (await scanBackupDir(settings.dir).catch(() => [])).filter((e) => e.manifest && !e.missing && (!settings.database || e.manifest.database === settings.database.database));
  const latest = entries.at(-1);
  if (!latest) throw new TidemarkError('BACKUP_NOT_FOUND', 'no backup to verify', { operation, cause: `no backup written by tidemark in ${settings.dir}`, hint: 'run `task backup` first' });
  return path.join(settings.dir, latest.fileName);
}
