import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { TidemarkError } from './errors.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, parseDatabaseUrl, type DatabaseTarget } from './connection-string.js';
import { readEmbeddedUrl } from './devdb-location.js';
import { toolHostFromEnv, type ToolHost } from './pgtools/exec.js';
import { parsePgMajor, readLintConfig } from './lint-config-file.js';
import type { RuleId, RuleSetting } from './lint-rule-ids.js';
import type { TableName } from './db/schema.js';
import { loadPitrSettings, type PitrInput, type PitrSettings } from './pitr-settings.js';

/** What a caller may pass; the CLI fills it from flags, the API from options. */
export interface ConfigInput {
  cwd?: string;
  /** Defaults to process.env. */
  env?: Record<string, string | undefined>;
  /** A dotenv file; `.env` in cwd is read when present. */
  envFile?: string;
  databaseUrl?: string;
  /** Use the embedded development database under `.tidemark/`. */
  embedded?: boolean;
  migrationsDir?: string;
  migrationsTable?: string;
  /** How long to wait for the migration (advisory) lock: `30s`, `2m`, `500ms` or a number of seconds. */
  lockTimeout?: string | number;
  /** PostgreSQL's lock_timeout for each migration (how long its DDL may queue for a table lock); 0: not set. */
  ddlLockTimeout?: string | number;
  /** How many times a migration that hit a lock timeout is tried again. */
  ddlRetries?: string | number;
  /** The oldest server db:check accepts: `18`, `16.4`. */
  minServerVersion?: string;
  /** Extensions db:check requires. */
  requiredExtensions?: string[];
  backfillsDir?: string;
  /** PostgreSQL's lock_timeout and statement_timeout in each backfill batch. */
  backfillLockTimeout?: string | number;
  backfillStatementTimeout?: string | number;
  /** The backup directory (BACKUP_DIR, default ./backups). */
  backupDir?: string;
  /** Physical backups (pgBackRest): what the pitr commands' flags say; the environment fills the rest. */
  pitr?: PitrInput;
  /**
   * Read migrate:lint's settings (its configuration file, TIDEMARK_LINT_*).
   * Only the lint asks: a broken lint file must never stop a migration.
   */
  lint?: boolean;
  /** migrate:lint's configuration file (TIDEMARK_LINT_CONFIG, default tidemark.lint.json when present). */
  lintConfig?: string;
  /** The PostgreSQL major version to lint for when no database is reachable (TIDEMARK_LINT_PG_VERSION). */
  lintPgVersion?: string | number;
  /**
   * Whether a database must be configured (default true). The commands that
   * only read the backup or migrations directory pass false.
   */
  requireDatabase?: boolean;
  /**
   * Whether closing a connection waits for the server to hang up (default
   * true, for the API); the command line passes false, as it exits right after.
   */
  waitForClose?: boolean;
}

export type { TableName } from './db/schema.js';
export type { PitrInput, PitrSettings, PitrRepository } from './pitr-settings.js';

/**
 * Validated settings: everything the core needs, nothing it must re-check.
 * Every command and the API take their configuration from here, so that one
 * rule (flag > environment > `.env` > default) decides everywhere.
 */
export interface Settings {
  cwd: string;
  /** The environment as read: the process environment over the dotenv file. */
  env: Record<string, string | undefined>;
  /** The configured database, or the embedded one (--embedded, TIDEMARK_EMBEDDED). */
  database: DatabaseTarget;
  migrations: MigrationSettings;
  /** How long to wait for the migration (advisory) lock. */
  lockTimeoutMs: number;
  /** PostgreSQL's lock_timeout for each migration (TIDEMARK_DDL_LOCK_TIMEOUT); 0: tidemark sets none. */
  ddlLockTimeoutMs: number;
  /** Retries of a migration (or a no-transaction statement) that failed for a lock timeout (TIDEMARK_DDL_RETRIES). */
  ddlRetries: number;
  /** How often a running migration that waits for a lock says so (TIDEMARK_LOCK_REPORT_INTERVAL); 0 never. */
  lockReportIntervalMs: number;
  backup: BackupDirSettings;
  /** Physical backups and point-in-time recovery through pgBackRest (PITR_*, PGBACKREST_BIN). */
  pitr: PitrSettings;
  chores: ChoreSettings;
  connections: ConnectionSettings;
  /** Present when the input asked for it (`lint: true`); absent means no file and no rule settings. */
  lint?: LintSettings;
}

/** What migrate:lint reads from the configuration (flag > environment > `.env` > tidemark.lint.json > default). */
export interface LintSettings {
  /** The lint configuration file read, if any (relative to cwd when below it). */
  configFile?: string;
  /** The major version to lint for when no database is reachable; undefined: the embedded server's. */
  pgVersion?: number;
  /** A severity, or 'off', per rule. */
  rules: Partial<Record<RuleId, RuleSetting>>;
}

export interface ConnectionSettings {
  /** Also on `database` (DatabaseTarget.waitForClose), which every connection is opened from. */
  waitForClose: boolean;
}

/** Settings loaded with `requireDatabase: false`: the database only when one is configured. */
export type SettingsWithoutDatabase = Omit<Settings, 'database'> & { database?: DatabaseTarget };

export interface MigrationSettings {
  /** Absolute migrations directory. */
  dir: string;
  table: TableName;
  /** The table as configured (--table, MIGRATIONS_TABLE), before a URL's `x-migrations-table`; kept for settingsForDatabase. */
  configuredTable?: string;
}

export interface BackupDirSettings {
  /** Absolute backup directory. */
  dir: string;
  /** Whether BACKUP_DIR was set (then it must exist: an unmounted volume must not silently become a new folder). */
  dirConfigured: boolean;
  /** Where pg_dump, pg_restore and psql run. */
  host: ToolHost;
}

/** What the database chores (db:check, backfill) read from the configuration. */
export interface ChoreSettings {
  /** The minimum server_version_num, and how it was written; none when unset. */
  minServerVersion?: ServerVersion;
  requiredExtensions: string[];
  backfillsDir: string;
  backfillLockTimeoutMs: number;
  backfillStatementTimeoutMs: number;
}

export interface ServerVersion {
  text: string;
  num: number;
}

export const DEFAULT_LOCK_TIMEOUT_MS = 15_000;
export const DEFAULT_LOCK_REPORT_INTERVAL_MS = 5_000;
export const DEFAULT_DDL_LOCK_TIMEOUT_MS = 5_000;
export const DEFAULT_DDL_RETRIES = 3;
/** PostgreSQL's largest lock_timeout (INT_MAX milliseconds, about 24.8 days). */
const MAX_PG_TIMEOUT_MS = 2_147_483_647;
export const DEFAULT_BACKFILL_LOCK_TIMEOUT_MS = 5_000;
export const DEFAULT_BACKFILL_STATEMENT_TIMEOUT_MS = 60_000;

/** The process environment over the dotenv file: the environment wins. */
export function readEnvironment(input: Pick<ConfigInput, 'cwd' | 'env' | 'envFile'> = {}): Record<string, string | undefined> {
  const cwd = input.cwd ?? process.cwd();
  const env = input.env ?? process.env;
  const file = input.envFile ? path.resolve(cwd, input.envFile) : path.join(cwd, '.env');
  if (!existsSync(file)) {
    if (input.envFile) throw configError(`read ${input.envFile}`, 'the file does not exist', 'check the path given to --env-file');
    return { ...env };
  }
  let parsed: Record<string, string>;
  try {
    parsed = parseDotenv(readFileSync(file));
  } catch (err) {
    throw configError(`read ${path.relative(cwd, file) || file}`, (err as Error).message);
  }
  return { ...parsed, ...env };
}

/** Reads the environment (and `.env`) once, then the settings from it. */
export function loadSettings(input: ConfigInput & { requireDatabase?: true }): Settings;
export function loadSettings(input: ConfigInput): SettingsWithoutDatabase;
export function loadSettings(input?: ConfigInput): Settings;
export function loadSettings(input: ConfigInput = {}): SettingsWithoutDatabase {
  const cwd = path.resolve(input.cwd ?? process.cwd());
  return settingsFrom({ ...input, cwd }, readEnvironment({ ...input, cwd }));
}

/** The settings from an environment already read (the dotenv file is not read again). */
export function settingsFrom(input: ConfigInput & { requireDatabase?: true }, env: Record<string, string | undefined>): Settings;
export function settingsFrom(input: ConfigInput, env: Record<string, string | undefined>): SettingsWithoutDatabase;
export function settingsFrom(input: ConfigInput, env: Record<string, string | undefined>): SettingsWithoutDatabase {
  const cwd = path.resolve(input.cwd ?? process.cwd());
  const url = resolveDatabaseUrl(input, env, cwd);
  const connections = { waitForClose: input.waitForClose ?? true };
  const database = url === undefined ? undefined : { ...parseDatabaseUrl(url, { connectTimeoutMs: connectTimeoutFrom(env) }), ...connections };
  const backup = loadBackupDirSettings(input, env, cwd);
  return {
    cwd,
    env,
    database,
    migrations: {
      dir: path.resolve(cwd, input.migrationsDir ?? env.MIGRATIONS_DIR ?? 'migrations'),
      table: resolveTable(input.migrationsTable ?? env.MIGRATIONS_TABLE, database),
      configuredTable: input.migrationsTable ?? env.MIGRATIONS_TABLE,
    },
    lockTimeoutMs: parseDuration(input.lockTimeout ?? env.TIDEMARK_LOCK_TIMEOUT, DEFAULT_LOCK_TIMEOUT_MS, '--lock-timeout'),
    ...ddlSettings(input, env),
    lockReportIntervalMs: parseDuration(env.TIDEMARK_LOCK_REPORT_INTERVAL, DEFAULT_LOCK_REPORT_INTERVAL_MS, 'TIDEMARK_LOCK_REPORT_INTERVAL'),
    backup,
    pitr: loadPitrSettings(input.pitr ?? {}, env, { cwd, database: database?.database, backupDir: backup.dir }),
    chores: loadChoreSettings(input, env, cwd),
    connections,
    lint: input.lint ? loadLintSettings(input, env, cwd) : undefined,
  };
}

/**
 * The same settings for another database (one target of a fleet): its
 * migrations table resolved by the rule that DATABASE_URL's follows, so that
 * the target behaves exactly as the single command run with it as DATABASE_URL.
 */
export function settingsForDatabase(settings: SettingsWithoutDatabase, database: DatabaseTarget): Settings {
  const target = { ...database, waitForClose: settings.connections.waitForClose };
  const table = resolveTable(settings.migrations.configuredTable, target);
  return { ...settings, database: target, migrations: { ...settings.migrations, table } };
}

function loadLintSettings(input: ConfigInput, env: Record<string, string | undefined>, cwd: string): LintSettings {
  const file = readLintConfig(cwd, input.lintConfig ?? (env.TIDEMARK_LINT_CONFIG || undefined));
  const version = input.lintPgVersion ?? (env.TIDEMARK_LINT_PG_VERSION || undefined);
  const label = input.lintPgVersion !== undefined ? '--pg-version' : 'TIDEMARK_LINT_PG_VERSION';
  const pgVersion = version === undefined ? file.pgVersion : parsePgMajor(version, label, (cause) => configError(`read ${label}`, cause));
  return { configFile: file.file, pgVersion, rules: file.rules };
}

/** The table-lock settings of a migration run: a flag (or API option) wins over the environment. */
function ddlSettings(input: ConfigInput, env: Record<string, string | undefined>): Pick<Settings, 'ddlLockTimeoutMs' | 'ddlRetries'> {
  const timeoutLabel = input.ddlLockTimeout !== undefined ? '--ddl-lock-timeout' : 'TIDEMARK_DDL_LOCK_TIMEOUT';
  const ddlLockTimeoutMs = parseDuration(input.ddlLockTimeout ?? env.TIDEMARK_DDL_LOCK_TIMEOUT, DEFAULT_DDL_LOCK_TIMEOUT_MS, timeoutLabel);
  if (ddlLockTimeoutMs > MAX_PG_TIMEOUT_MS) {
    throw configError(`read ${timeoutLabel}`, `${ddlLockTimeoutMs} ms is more than PostgreSQL's largest lock_timeout (${MAX_PG_TIMEOUT_MS} ms)`, 'use 0 to wait without limit');
  }
  const retriesLabel = input.ddlRetries !== undefined ? '--ddl-retries' : 'TIDEMARK_DDL_RETRIES';
  return { ddlLockTimeoutMs, ddlRetries: parseCount(input.ddlRetries ?? env.TIDEMARK_DDL_RETRIES, DEFAULT_DDL_RETRIES, retriesLabel) };
}

function loadBackupDirSettings(input: ConfigInput, env: Record<string, string | undefined>, cwd: string): BackupDirSettings {
  const configured = input.backupDir ?? env.BACKUP_DIR;
  // A PG_BIN_DIR that does not exist is reported by the command that looks for a tool there, with that tool's code.
  return { dir: path.resolve(cwd, configured || 'backups'), dirConfigured: !!configured, host: toolHostFromEnv(env) };
}

function loadChoreSettings(input: ConfigInput, env: Record<string, string | undefined>, cwd: string): ChoreSettings {
  const minVersion = input.minServerVersion ?? env.TIDEMARK_MIN_PG_VERSION;
  return {
    minServerVersion: minVersion ? parseServerVersion(minVersion, 'TIDEMARK_MIN_PG_VERSION') : undefined,
    requiredExtensions: input.requiredExtensions ?? splitList(env.TIDEMARK_REQUIRED_EXTENSIONS),
    backfillsDir: path.resolve(cwd, input.backfillsDir ?? env.BACKFILLS_DIR ?? 'backfills'),
    backfillLockTimeoutMs: parseDuration(input.backfillLockTimeout ?? env.TIDEMARK_BACKFILL_LOCK_TIMEOUT, DEFAULT_BACKFILL_LOCK_TIMEOUT_MS, 'TIDEMARK_BACKFILL_LOCK_TIMEOUT'),
    backfillStatementTimeoutMs: parseDuration(input.backfillStatementTimeout ?? env.TIDEMARK_BACKFILL_STATEMENT_TIMEOUT, DEFAULT_BACKFILL_STATEMENT_TIMEOUT_MS, 'TIDEMARK_BACKFILL_STATEMENT_TIMEOUT'),
  };
}

/** TIDEMARK_CONNECT_TIMEOUT, for URLs that do not set `connect_timeout` themselves. */
export function connectTimeoutFrom(env: Record<string, string | undefined>): number {
  return parseDuration(env.TIDEMARK_CONNECT_TIMEOUT, DEFAULT_CONNECT_TIMEOUT_MS, 'TIDEMARK_CONNECT_TIMEOUT');
}

/** `pg_trgm, citext` or `pg_trgm citext` → the names. */
export function splitList(value: string | undefined): string[] {
  return (value ?? '').split(/[\s,]+/).filter(Boolean);
}

/**
 * `18`, `16.4` or `9.6.24` as PostgreSQL's server_version_num (180000,
 * 160004, 90624): from version 10 on, the second number is the minor release.
 */
export function parseServerVersion(text: string, label: string): ServerVersion {
  const match = text.trim().match(/^(\d{1,2})(?:\.(\d{1,2}))?(?:\.(\d{1,2}))?$/);
  const [major, second, third] = (match?.slice(1) ?? []).map((part) => Number(part ?? 0));
  if (!match || (major >= 10 && match[3] !== undefined)) {
    throw configError(`read ${label}`, `"${text}" is not a PostgreSQL version`, 'use a major version such as 18, or major.minor such as 16.4');
  }
  const num = major >= 10 ? major * 10_000 + second : major * 10_000 + second * 100 + third;
  return { text: text.trim(), num };
}

/**
 * The database URL: --database-url (API: databaseUrl), then --embedded, then
 * the environment (TIDEMARK_EMBEDDED, then DATABASE_URL). Undefined only when
 * none is configured and the caller does not require one.
 */
function resolveDatabaseUrl(input: ConfigInput, env: Record<string, string | undefined>, cwd: string): string | undefined {
  if (input.databaseUrl) return input.databaseUrl;
  if (input.embedded || isTrue(env.TIDEMARK_EMBEDDED)) {
    const url = readEmbeddedUrl(cwd);
    if (!url && input.requireDatabase === false) return undefined;
    if (!url) throw configError('read the embedded database settings', 'the embedded development database has not been created here', 'run `task db:start` (or `tidemark db:start`) first');
    return url;
  }
  const url = env.DATABASE_URL?.trim();
  if (url) return url;
  if (input.requireDatabase === false) return undefined;
  throw configError('read DATABASE_URL', 'DATABASE_URL is not set (neither in the environment nor in .env)',
    'set DATABASE_URL=postgres://user:password@host:5432/dbname, or use the embedded development database: `task db:start`, then pass --embedded (or set TIDEMARK_EMBEDDED=1)');
}

/**
 * `schema.table` names a schema explicitly; a bare name lives in the
 * connection's current schema. golang-migrate's `x-migrations-table` in the URL
 * is honoured the way golang-migrate reads it (split on the dot only when
 * `x-migrations-table-quoted` is set and the parts are quoted).
 */
function resolveTable(configured: string | undefined, database: DatabaseTarget | undefined): TableName {
  if (configured) return splitTableName(configured, true);
  if (database?.migrationsTable) return splitTableName(database.migrationsTable, database.migrationsTableQuoted ?? false);
  return { table: 'schema_migrations' };
}

function splitTableName(value: string, splitOnDot: boolean): TableName {
  const quoted = value.match(/^"((?:[^"]|"")+)"\."((?:[^"]|"")+)"$/);
  if (quoted) return { schema: quoted[1].replace(/""/g, '"'), table: quoted[2].replace(/""/g, '"') };
  const unquoted = value.replace(/^"(.*)"$/, '$1');
  if (splitOnDot && /^[^.]+\.[^.]+$/.test(unquoted)) {
    const [schema, table] = unquoted.split('.');
    return { schema, table };
  }
  if (!unquoted || unquoted.length > 63) throw configError('read the migrations table name', `"${value}" is not a valid table name`);
  return { table: unquoted };
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `30s`, `2m`, `1h`, `500ms`, or a plain number of seconds. */
export function parseDuration(value: string | number | undefined, fallbackMs: number, label: string): number {
  if (value === undefined || value === '') return fallbackMs;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value * 1000;
  const match = String(value).trim().match(/^(\d+(?:\.\d+)?)(ms|s|m|h)?$/);
  if (!match) throw configError(`read ${label}`, `"${value}" is not a duration`, 'use a number of seconds or a value such as 500ms, 30s, 2m, 1h');
  return Math.round(Number(match[1]) * UNITS[match[2] ?? 's']);
}

/** A whole number of at least 0 (`3`), or the fallback when unset. */
export function parseCount(value: string | number | undefined, fallback: number, label: string): number {
  if (value === undefined || value === '') return fallback;
  const text = String(value).trim();
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw configError(`read ${label}`, `"${value}" is not a whole number of at least 0`);
  return Number(text);
}

export function isTrue(value: string | undefined): boolean {
  return value !== undefined && /^(1|true|yes|on)$/i.test(value.trim());
}

export function isFalse(value: string | undefined): boolean {
  return value !== undefined && /^(0|false|no|off)$/i.test(value.trim());
}

export function configError(operation: string, cause: string, hint?: string): TidemarkError {
  return new TidemarkError('CONFIG_INVALID', 'invalid configuration', { operation, cause, hint });
}
