import { existsSync } from 'node:fs';
import path from 'node:path';
import { readEnvironment, type ConfigInput } from '../config.js';
import { parseDatabaseUrl, type DatabaseTarget } from '../connection-string.js';
import { TidemarkError } from '../errors.js';
import { readEmbeddedUrl } from '../devdb/state.js';
import { toolHostFromEnv, type ToolHost } from '../pgtools/exec.js';
import { isTrue, configError, connectTimeoutFrom } from '../config.js';

/** Everything the backup commands need, validated once. */
export interface BackupSettings {
  cwd: string;
  env: Record<string, string | undefined>;
  /** Absolute backup directory. */
  dir: string;
  /** Whether BACKUP_DIR was set (then it must exist: an unmounted volume must not silently become a new folder). */
  dirConfigured: boolean;
  /** Undefined for commands that need no database (list, prune, check). */
  database?: DatabaseTarget;
  host: ToolHost;
  migrationsTable: string;
}

export interface BackupConfigInput extends ConfigInput {
  backupDir?: string;
  /** Whether the command needs DATABASE_URL. */
  requireDatabase?: boolean;
}

export function loadBackupSettings(input: BackupConfigInput = {}): BackupSettings {
  const cwd = path.resolve(input.cwd ?? process.cwd());
  const env = input.env ? { ...input.env } : readEnvironment({ ...input, cwd });
  const configured = input.backupDir ?? env.BACKUP_DIR;
  const dir = path.resolve(cwd, configured || 'backups');
  let url = input.databaseUrl ?? env.DATABASE_URL;
  if (!url && (input.embedded || isTrue(env.TIDEMARK_EMBEDDED))) url = readEmbeddedUrl(cwd);
  if (!url && input.requireDatabase) {
    throw configError('read DATABASE_URL', 'DATABASE_URL is not set (neither in the environment nor in .env)', 'set DATABASE_URL=postgres://user:password@host:5432/dbname, or use --embedded after `task db:start`');
  }
  const database = url ? parseDatabaseUrl(url, { connectTimeoutMs: connectTimeoutFrom(env) }) : undefined;
  if (env.PG_BIN_DIR && !existsSync(env.PG_BIN_DIR)) throw configError('read PG_BIN_DIR', `${env.PG_BIN_DIR} does not exist`);
  return { cwd, env, dir, dirConfigured: !!configured, database, host: toolHostFromEnv(env), migrationsTable: env.MIGRATIONS_TABLE || database?.migrationsTable || 'schema_migrations' };
}

export function requireDatabase(settings: BackupSettings, operation: string): DatabaseTarget {
  if (settings.database) return settings.database;
  throw new TidemarkError('CONFIG_INVALID', 'invalid configuration', { operation, cause: 'DATABASE_URL is not set', hint: 'set DATABASE_URL' });
}
