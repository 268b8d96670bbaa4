/**
 * pgBackRest's configuration, written from tidemark's settings into PITR_DIR:
 * `pgbackrest.conf` (no secret: repository, retention, the cluster) and,
 * only when the repository has secrets (S3 keys, a cipher pass),
 * `conf.d/secrets.conf`, 0600, owned by the server's user: the server's
 * archive_command runs pgBackRest without tidemark's environment, so that file
 * is the one place the secrets rest. Every command rewrites them, so that the
 * archive_command always follows the settings.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../backup/manifest.js';
import type { PitrSettings } from '../pitr-settings.js';
import { handOver, type RunAs } from './tool.js';

/** What pgBackRest must know of the cluster to back it up (pg1-*). */
export interface ClusterFacts {
  dataDir: string;
  port: number;
  socketDir?: string;
  user?: string;
  database?: string;
}

/**
 * pgBackRest's own retention when none is set: as many full backups as it
 * allows, so that pitr:prune (or PITR_RETENTION_FULL) alone decides, and
 * pgBackRest does not warn on every backup that retention is unset.
 */
export const KEEP_ALL_FULL = 9_999_999;

export function configPaths(settings: PitrSettings): { configFile: string; includeDir: string; logDir: string; lockDir: string } {
  return {
    configFile: path.join(settings.dir, 'pgbackrest.conf'),
    includeDir: path.join(settings.dir, 'conf.d'),
    logDir: path.join(settings.dir, 'log'),
    lockDir: path.join(settings.dir, 'lock'),
  };
}

function repositoryLines(settings: PitrSettings): string[] {
  const repo = settings.repo;
  if (repo.kind === 'path') return [`repo1-path=${repo.path}`];
  return [
    'repo1-type=s3', `repo1-path=${repo.prefix}`, `repo1-s3-bucket=${repo.bucket}`, `repo1-s3-endpoint=${repo.endpoint}`,
    `repo1-s3-region=${repo.region}`, `repo1-s3-uri-style=${repo.uriStyle}`,
    ...(repo.port ? [`repo1-storage-port=${repo.port}`] : []),
    ...(repo.verifyTls ? [] : ['repo1-storage-verify-tls=n']),
  ];
}

/** The text of pgbackrest.conf (pure: the tests read it). */
export function configText(settings: PitrSettings, stanza: string, cluster: ClusterFacts | undefined): string {
  const paths = configPaths(settings);
  const global = [
    ...repositoryLines(settings),
    'repo1-retention-full-type=count',
    `repo1-retention-full=${settings.retentionFull ?? KEEP_ALL_FULL}`,
    ...(settings.retentionDiff ? [`repo1-retention-diff=${settings.retentionDiff}`] : []),
    ...(settings.compress ? [`compress-type=${settings.compress}`] : []),
    `process-max=${settings.processMax}`,
    // A backup starts with an immediate checkpoint rather than waiting for the next one.
    'start-fast=y',
    `log-path=${paths.logDir}`, `lock-path=${paths.lockDir}`,
    'log-level-console=off', 'log-level-stderr=warn', 'log-level-file=info',
  ];
  const pg = cluster ? [
    `pg1-path=${cluster.dataDir}`, `pg1-port=${cluster.port}`,
    ...(cluster.socketDir ? [`pg1-socket-path=${cluster.socketDir}`] : []),
    ...(cluster.user ? [`pg1-user=${cluster.user}`] : []),
    ...(cluster.database ? [`pg1-database=${cluster.database}`] : []),
  ] : [];
  return `# Written by tidemark from its settings (PITR_*); rewritten by every pitr command.\n[global]\n${global.join('\n')}\n\n[${stanza}]\n${pg.join('\n')}\n`;
}

/** The secrets the server's archive_command needs, or undefined when there are none. */
export function secretsText(settings: PitrSettings): string | undefined {
  const repo = settings.repo;
  const lines = [
    ...(repo.kind === 's3' && repo.key ? [`repo1-s3-key=${repo.key}`] : []),
    ...(repo.kind === 's3' && repo.secret ? [`repo1-s3-key-secret=${repo.secret}`] : []),
    // The cipher type goes with its pass: a command run without the pass in its environment must not write an unencrypted configuration.
    ...(settings.cipherPass ? ['repo1-cipher-type=aes-256-cbc', `repo1-cipher-pass=${settings.cipherPass}`] : []),
  ];
  return lines.length ? `# Written by tidemark: the repository's secrets, for the server's archive_command.\n[global]\n${lines.join('\n')}\n` : undefined;
}

/** pg1-* of a configuration tidemark wrote before: the cluster, for commands that do not ask the server. */
export function recordedCluster(settings: PitrSettings, stanza: string): ClusterFacts | undefined {
  const file = configPaths(settings).configFile;
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, 'utf8');
  const section = text.split(/^\[/m).find((part) => part.startsWith(`${stanza}]`)) ?? '';
  const value = (name: string) => section.match(new RegExp(`^${name}=(.*)$`, 'm'))?.[1];
  const dataDir = value('pg1-path');
  if (!dataDir) return undefined;
  return { dataDir, port: Number(value('pg1-port') ?? 5432), socketDir: value('pg1-socket-path'), user: value('pg1-user'), database: value('pg1-database') };
}

function ownDir(dir: string, as: RunAs, mode: number): void {
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode });
  handOver(dir, as);
}

/**
 * Writes the configuration and the secrets file, and makes the directories
 * pgBackRest writes to. Only pitr:init (`setup`) removes a secrets file the
 * settings no longer have: a command run from a shell without the secrets
 * must not take them from the server's archive_command.
 */
export async function writeConfig(settings: PitrSettings, stanza: string, cluster: ClusterFacts | undefined, as: RunAs, setup = false): Promise<void> {
  const paths = configPaths(settings);
  ownDir(settings.dir, as, 0o750);
  for (const dir of [paths.includeDir, paths.logDir, paths.lockDir]) ownDir(dir, as, 0o700);
  if (settings.repo.kind === 'path') ownDir(settings.repo.path, as, 0o750);
  await writeFileAtomic(paths.configFile, configText(settings, stanza, cluster));
  handOver(paths.configFile, as);
  const secretsFile = path.join(paths.includeDir, 'secrets.conf');
  const secrets = secretsText(settings);
  if (!secrets) return setup ? rmSync(secretsFile, { force: true }) : undefined;
  await writeFileAtomic(secretsFile, secrets);
  handOver(secretsFile, as);
}

/** Quotes a word for the shell line PostgreSQL runs as archive_command. */
const shellWord = (word: string) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);

/** The archive_command that pushes WAL into this stanza's repository. */
export function archiveCommand(pgbackrest: string, settings: PitrSettings, stanza: string): string {
  const paths = configPaths(settings);
  const words = [pgbackrest, `--config=${paths.configFile}`, `--config-include-path=${paths.includeDir}`, `--stanza=${stanza}`, 'archive-push'];
  return `${words.map(shellWord).join(' ')} %p`;
}

/** Whether an archive_command pushes into this stanza with this configuration. */
export function isOurArchiveCommand(command: string, settings: PitrSettings, stanza: string): boolean {
  const paths = configPaths(settings);
  const config = [`--config=${paths.configFile}`, shellWord(`--config=${paths.configFile}`)].some((form) => command.includes(form));
  return config && command.includes('archive-push') && command.includes(`--stanza=${stanza}`);
}

/** Whether pitr:init (or another pitr command) wrote a configuration here: backup:check then checks the physical kind too. */
export function pitrConfigured(settings: PitrSettings): boolean {
  return existsSync(configPaths(settings).configFile);
}
