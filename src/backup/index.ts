export { loadBackupSettings, type BackupSettings, type BackupConfigInput } from './config.js';
export { backup, type BackupOptions, type BackupResult } from './dump.js';
export { restore, type RestoreOptions, type RestoreResult } from './restore.js';
export { verifyBackup, type VerifyResult } from './verify.js';
export { listBackups, pruneBackups, checkBackups, type BackupListEntry, type PruneResult, type CheckResult } from './catalog.js';
export { applyRetention, DEFAULT_RETENTION, isoWeekKey, type RetentionPolicy } from './retention.js';
export type { BackupManifest } from './manifest.js';
