/**
 * What pg_restore can tell of an archive without a database: its table of
 * contents, its header, the encoding its data is in, a full read.
 */
import { createReadStream } from 'node:fs';
import { TidemarkError } from '../errors.js';
import { prepareTool } from '../pgtools/exec.js';
import { offlineCommand, runTool } from '../pgtools/run.js';
import { encodingOfScript, plainSqlHead, type ArchiveType } from './archive.js';
import { chooseClient } from './client.js';
import type { BackupSettings } from './config.js';

export interface ReadResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * pg_restore over an archive without a database (`--list`, or a full read
 * into /dev/null): locally with the file's path, or inside the container with
 * the archive on stdin.
 */
export async function pgRestoreRead(settings: BackupSettings, args: string[], file: string, operation: string): Promise<ReadResult> {
  const tool = await chooseClient('pg_restore', settings.database, settings.backup.host, settings.env, operation);
  const local = settings.backup.host.kind === 'local';
  const cmd = settings.database && !local
    ? await prepareTool('pg_restore', args, settings.database, settings.backup.host)
    : offlineCommand(tool.path ?? 'pg_restore', [...args, file], settings.database?.password);
  const result = await runTool(cmd, local ? {} : { stdin: () => createReadStream(file) });
  if (result.startError) throw new TidemarkError('BACKUP_CLIENT_NOT_FOUND', 'cannot run pg_restore', { operation, cause: result.startError });
  return { code: result.code, stdout: result.stdout, stderr: result.stderr };
}

/** The pg_dump version written in an archive's header (custom, directory, tar). */
export async function dumpVersionOf(settings: BackupSettings, file: string, type: ArchiveType): Promise<string | undefined> {
  if (type === 'sql' || type === 'sql.gz') return undefined;
  const result = await pgRestoreRead(settings, ['--list'], file, 'read the archive header').catch(() => undefined);
  return result?.stdout.match(/Dumped by pg_dump version: (\d+(?:\.\d+)?)/)?.[1];
}

/**
 * The encoding of the dumped database. `pg_restore --list` does not show
 * it; the script pg_restore writes with an empty selection (`-L /dev/null`)
 * is only its fixed settings, the first of which is `SET client_encoding`.
 */
export async function encodingOfArchive(settings: BackupSettings, file: string, type: ArchiveType): Promise<string | undefined> {
  if (type === 'sql' || type === 'sql.gz') return encodingOfScript(await plainSqlHead(file, type));
  const result = await pgRestoreRead(settings, ['--file=-', '--use-list=/dev/null'], file, 'read the archive\'s encoding').catch(() => undefined);
  return result?.code === 0 ? encodingOfScript(result.stdout) : undefined;
}

/** `schema.table` of every table in an archive's table of contents. */
export async function tablesInArchive(settings: BackupSettings, file: string, operation: string): Promise<string[]> {
  const result = await pgRestoreRead(settings, ['--list'], file, operation);
  return result.stdout.split('\n').map((line) => line.match(/^\d+; \d+ \d+ TABLE (?!DATA )(\S+) (\S+) /)).filter((m): m is RegExpMatchArray => !!m).map((m) => `${m[1]}.${m[2]}`);
}
