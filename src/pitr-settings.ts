/**
 * The settings of physical backups (pgBackRest), read by src/config.ts's one
 * loader: flag (PitrInput) > environment > `.env` > default. The S3 key and
 * secret and the cipher pass are kept here and reach pgBackRest only through
 * its own environment variables or the 0600 file that the server's
 * archive_command reads (see conf.ts); never an argv.
 */
import path from 'node:path';
import { TidemarkError } from './errors.js';
import { toolHostFromEnv, type ToolHost } from './pgtools/exec.js';

/** What a flag or an API option may say; each falls back to its environment variable. */
export interface PitrInput {
  /** PITR_STANZA: pgBackRest's name for this cluster (default: the database's name). */
  stanza?: string;
  /** PITR_REPO: a directory, or `s3://bucket/prefix` (default BACKUP_DIR/pitr/repo). */
  repo?: string;
  /** PITR_DATA_DIR: the server's data directory (default: what the server says, SHOW data_directory). */
  dataDir?: string;
  /** PITR_DIR: where tidemark keeps pgBackRest's configuration, log and lock files (default BACKUP_DIR/pitr). */
  pitrDir?: string;
}

export type PitrRepository =
  | { kind: 'path'; path: string }
  | {
    kind: 's3'; bucket: string; prefix: string; endpoint: string; port?: number; region: string;
    key?: string; secret?: string; verifyTls: boolean; uriStyle: 'host' | 'path';
  };

export interface PitrSettings {
  stanza?: string;
  repo: PitrRepository;
  /** Absolute; undefined: asked of the server. */
  dataDir?: string;
  /** PITR_PG_SOCKET_DIR: the directory of the server's Unix socket (pgBackRest connects through it; default: the server's first unix_socket_directories). */
  socketDir?: string;
  /** Absolute: pgbackrest.conf, conf.d/, log/, lock/. */
  dir: string;
  /** PGBACKREST_BIN; undefined: found on PATH. */
  bin?: string;
  /** PITR_CIPHER_PASS: the repository is encrypted (aes-256-cbc) when set. */
  cipherPass?: string;
  /** PITR_RETENTION_FULL / PITR_RETENTION_DIFF: pgBackRest's own retention after each backup; undefined: pitr:prune alone decides. */
  retentionFull?: number;
  retentionDiff?: number;
  /** PITR_COMPRESS: pgBackRest's compress-type (gz, lz4, zst, bz2, none); undefined: pgBackRest's default. */
  compress?: string;
  /** PITR_PROCESS_MAX: pgBackRest's process-max (default 1). */
  processMax: number;
  /** PITR_RESTORE_TEST_DIR: where pitr:verify --restore-test makes its scratch data directory (default: the system's temporary directory). */
  scratchDir?: string;
  /** Where pgBackRest runs: here, or in the database's container (PG_CONTAINER, PG_COMPOSE_SERVICE). */
  host: ToolHost;
}

type Env = Record<string, string | undefined>;

function invalid(label: string, cause: string, hint?: string): TidemarkError {
  return new TidemarkError('CONFIG_INVALID', 'invalid configuration', { operation: `read ${label}`, cause, hint });
}

function wholeNumber(value: string | undefined, label: string, min: number): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const text = value.trim();
  if (!/^\d+$/.test(text) || Number(text) < min || !Number.isSafeInteger(Number(text))) throw invalid(label, `"${value}" is not a whole number of at least ${min}`);
  return Number(text);
}

const yes = (value: string | undefined, fallback: boolean) =>
  value === undefined || value.trim() === '' ? fallback : /^(1|true|yes|on|y)$/i.test(value.trim());

/** `s3://bucket/prefix` with PITR_S3_* beside it. */
function s3Repository(url: string, env: Env): PitrRepository {
  const match = url.match(/^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(\/.*)?$/);
  if (!match) throw invalid('PITR_REPO', `"${url}" is not s3://bucket[/prefix]`, 'use a bucket name of lowercase letters, digits, dots and dashes');
  const endpoint = env.PITR_S3_ENDPOINT?.trim();
  if (!endpoint) throw invalid('PITR_S3_ENDPOINT', 'an S3 repository needs an endpoint', 'set PITR_S3_ENDPOINT=s3.eu-west-1.amazonaws.com (or host:port of an S3-compatible server)');
  const [host, port] = endpoint.replace(/^https:\/\//, '').split(':');
  const uriStyle = (env.PITR_S3_URI_STYLE?.trim() || 'host') as 'host' | 'path';
  if (uriStyle !== 'host' && uriStyle !== 'path') throw invalid('PITR_S3_URI_STYLE', `"${uriStyle}" is not host or path`);
  return {
    kind: 's3', bucket: match[1], prefix: (match[2] ?? '/').replace(/\/+$/, '') || '/', endpoint: host,
    port: port === undefined ? undefined : wholeNumber(port, 'PITR_S3_ENDPOINT (port)', 1),
    region: env.PITR_S3_REGION?.trim() || 'us-east-1', key: env.PITR_S3_KEY || undefined, secret: env.PITR_S3_SECRET || undefined,
    verifyTls: yes(env.PITR_S3_VERIFY_TLS, true), uriStyle,
  };
}

function repository(configured: string | undefined, env: Env, cwd: string, dir: string): PitrRepository {
  if (!configured) return { kind: 'path', path: path.join(dir, 'repo') };
  if (configured.startsWith('s3://')) return s3Repository(configured, env);
  if (/^[a-z0-9]+:\/\//i.test(configured)) throw invalid('PITR_REPO', `"${configured}" is neither a directory nor s3://bucket/prefix`);
  return { kind: 'path', path: path.resolve(cwd, configured) };
}

/** The stanza is a name pgBackRest uses in paths: letters, digits, `_`, `-` and `.`. */
function stanzaName(value: string | undefined, fromFlag: boolean): string | undefined {
  if (!value) return undefined;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(value)) throw invalid(fromFlag ? '--stanza' : 'PITR_STANZA', `"${value}" is not a usable stanza name`, 'use letters, digits, _, - and .');
  return value;
}

/** `at`: where the other settings point (the working directory, the database's name, the backup directory). */
export function loadPitrSettings(input: PitrInput, env: Env, at: { cwd: string; database?: string; backupDir: string }): PitrSettings {
  const { cwd, database, backupDir } = at;
  const dir = path.resolve(cwd, input.pitrDir ?? (env.PITR_DIR || path.join(backupDir, 'pitr')));
  const dataDir = input.dataDir ?? (env.PITR_DATA_DIR || undefined);
  const compress = env.PITR_COMPRESS?.trim() || undefined;
  if (compress && !/^(gz|lz4|zst|bz2|none)$/.test(compress)) throw invalid('PITR_COMPRESS', `"${compress}" is not one of gz, lz4, zst, bz2, none`);
  return {
    stanza: stanzaName(input.stanza, input.stanza !== undefined) ?? stanzaName(env.PITR_STANZA || undefined, false) ?? (database ? database.replace(/[^A-Za-z0-9_.-]/g, '_') : undefined),
    repo: repository(input.repo ?? (env.PITR_REPO || undefined), env, cwd, dir),
    dataDir: dataDir ? path.resolve(cwd, dataDir) : undefined,
    socketDir: env.PITR_PG_SOCKET_DIR || undefined,
    dir,
    bin: env.PGBACKREST_BIN || undefined,
    cipherPass: env.PITR_CIPHER_PASS || undefined,
    retentionFull: wholeNumber(env.PITR_RETENTION_FULL, 'PITR_RETENTION_FULL', 1),
    retentionDiff: wholeNumber(env.PITR_RETENTION_DIFF, 'PITR_RETENTION_DIFF', 1),
    compress,
    processMax: wholeNumber(env.PITR_PROCESS_MAX, 'PITR_PROCESS_MAX', 1) ?? 1,
    scratchDir: env.PITR_RESTORE_TEST_DIR ? path.resolve(cwd, env.PITR_RESTORE_TEST_DIR) : undefined,
    host: toolHostFromEnv(env),
  };
}

/** The secrets of these settings, for an output to mask. */
export function pitrSecrets(settings: PitrSettings): string[] {
  const repo = settings.repo;
  return [settings.cipherPass, repo.kind === 's3' ? repo.key : undefined, repo.kind === 's3' ? repo.secret : undefined].filter((s): s is string => !!s);
}

/** The repository in words, without a secret: a directory, or `s3://bucket/prefix at endpoint`. */
export function describeRepository(repo: PitrRepository): string {
  if (repo.kind === 'path') return repo.path;
  return `s3://${repo.bucket}${repo.prefix === '/' ? '' : repo.prefix} at ${repo.endpoint}${repo.port ? `:${repo.port}` : ''}`;
}
