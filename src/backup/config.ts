import { loadSettings, type ConfigInput, type SettingsWithoutDatabase } from '../config.js';
import type { DatabaseTarget } from '../connection-string.js';
import { TidemarkError } from '../errors.js';

/**
 * What the backup commands take: the one Settings, whose database may be
 * absent for the commands that only read the backup directory (list, prune,
 * check). Settings loaded with a database are BackupSettings as they are.
 */
export type BackupSettings = SettingsWithoutDatabase;

export type BackupConfigInput = ConfigInput;

/**
 * loadSettings with no database required unless asked: kept because the
 * package exported it before there was one settings loader.
 */
export function loadBackupSettings(input: BackupConfigInput = {}): BackupSettings {
  return loadSettings({ ...input, requireDatabase: input.requireDatabase ?? false });
}

export function requireDatabase(settings: BackupSettings, operation: string): DatabaseTarget {
  if (settings.database) return settings.database;
  throw new TidemarkError('CONFIG_INVALID', 'invalid configuration', { operation, cause: 'DATABASE_URL is not set', hint: 'set DATABASE_URL, or use --embedded after `task db:start`' });
}
