/**
 * pgBackRest itself: found like pg_dump (PGBACKREST_BIN, then PATH), its
 * version checked, and run through src/pgtools/run.ts with an environment
 * that holds no database secret. The repository's secrets go in pgBackRest's
 * own variables (PGBACKREST_REPO1_S3_KEY, ...): never in its argv.
 */
import { chownSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { TidemarkError } from '../errors.js';
import type { DatabaseTarget } from '../connection-string.js';
import { describeHost, offlineEnv, type PreparedCommand } from '../pgtools/exec.js';
import { writePassfile } from '../pgtools/passfile.js';
import { describeExit, failed, runTool, startTool, type RunningTool, type StartOptions, type ToolOutput } from '../pgtools/run.js';
import type { PitrSettings } from '../pitr-settings.js';

/** The oldest pgBackRest whose options tidemark writes (verify, restore --archive-mode, repo1-storage-verify-tls). */
export const MIN_PGBACKREST = '2.33';

export const INSTALL_HINT = 'install pgBackRest (Debian/Ubuntu: apt-get install pgbackrest; RHEL: dnf install pgbackrest), or point PGBACKREST_BIN at it';

export interface Pgbackrest {
  /** The program: a path here, or `pgbackrest` inside the container. */
  file: string;
  version: string;
}

/** The user pgBackRest runs as: as root, the owner of the data directory (pgBackRest and the server must share its files). */
export interface RunAs { uid?: number; gid?: number }

/** "pgBackRest 2.45" → "2.45". */
export function parsePgbackrestVersion(output: string): string | undefined {
  return output.match(/pgBackRest\s+(\d+\.\d+(?:\.\d+)?)/)?.[1];
}

export function versionAtLeast(version: string, min: string): boolean {
  const [a, b] = [version, min].map((v) => v.split('.').map(Number));
  for (let i = 0; i < Math.max(a.length, b.length); i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}

function onPath(env: Record<string, string | undefined>): string | undefined {
  const dirs = [...(env.PATH ?? '').split(path.delimiter).filter(Boolean), '/usr/bin', '/usr/local/bin'];
  return dirs.map((dir) => path.join(dir, 'pgbackrest')).find((file) => existsSync(file));
}

/** The docker (compose) prefix that runs a program inside the database's container, as its `postgres` user. */
function containerPrefix(settings: PitrSettings, forward: string[]): string[] {
  const host = settings.host;
  const env = forward.flatMap((name) => ['-e', name]);
  if (host.kind === 'docker') return ['exec', '-i', '-u', 'postgres', ...env, host.container];
  if (host.kind === 'compose') return ['compose', ...(host.file ? ['-f', host.file] : []), 'exec', '-T', '-u', 'postgres', ...env, host.service];
  return [];
}

/** Finds pgBackRest and checks its version: PGBACKREST_MISSING or PGBACKREST_TOO_OLD otherwise, with how to install it. */
export async function findPgbackrest(settings: PitrSettings, operation: string): Promise<Pgbackrest> {
  const local = settings.host.kind === 'local';
  const file = local ? settings.bin ?? onPath(process.env) : 'pgbackrest';
  const where = local ? '' : ` ${describeHost(settings.host)}`;
  if (!file) throw new TidemarkError('PGBACKREST_MISSING', 'pgBackRest is not installed', { operation, cause: 'no pgbackrest on PATH', hint: INSTALL_HINT });
  const cmd: PreparedCommand = local
    ? { file, args: ['version'], env: offlineEnv(), cleanup: async () => undefined }
    : { file: 'docker', args: [...containerPrefix(settings, []), 'pgbackrest', 'version'], env: offlineEnv(), cleanup: async () => undefined };
  const result = await runTool(cmd, { timeoutMs: 30_000 });
  const version = failed(result) ? undefined : parsePgbackrestVersion(result.stdout);
  if (!version) {
    throw new TidemarkError('PGBACKREST_MISSING', `pgBackRest cannot be run${where}`, {
      operation, cause: failed(result) ? describeExit(`${file} version`, result) : `${file} version printed no pgBackRest version`, hint: INSTALL_HINT,
    });
  }
  if (!versionAtLeast(version, MIN_PGBACKREST)) {
    throw new TidemarkError('PGBACKREST_TOO_OLD', 'pgBackRest is too old', {
      operation, cause: `${file} is pgBackRest ${version}; tidemark needs ${MIN_PGBACKREST} or later`, hint: INSTALL_HINT, data: { version, minimum: MIN_PGBACKREST },
    });
  }
  return { file, version };
}

function ownerOf(file: string | undefined): RunAs | undefined {
  if (!file || !existsSync(file)) return undefined;
  const info = statSync(file);
  return info.uid === 0 ? undefined : { uid: info.uid, gid: info.gid };
}

/** Root runs pgBackRest as the owner of the data directory (else of tidemark's pitr directory); anyone else as themselves. */
export function runIdentity(settings: PitrSettings, dataDir?: string): RunAs {
  if (settings.host.kind !== 'local' || process.getuid?.() !== 0) return {};
  return ownerOf(dataDir) ?? ownerOf(settings.dir) ?? {};
}

/**
 * Who owns the files tidemark writes for pgBackRest: the user it runs as; in
 * a container (where the docker client runs as ourselves), the owner of
 * PITR_DIR, which must be the container's server user, as the directory is
 * mounted there at the same path.
 */
export function fileOwner(settings: PitrSettings, dataDir?: string): RunAs {
  if (settings.host.kind === 'local') return runIdentity(settings, dataDir);
  return process.getuid?.() === 0 ? ownerOf(settings.dir) ?? {} : {};
}

/** Restores start a server from the restored files on this machine: not through a container. */
export function requireLocal(settings: PitrSettings, operation: string): void {
  if (settings.host.kind === 'local') return;
  throw new TidemarkError('CONFIG_INVALID', 'not through a container', {
    operation, cause: `restores run pgBackRest and start the restored server on this machine, not ${describeHost(settings.host)}`,
    hint: 'run tidemark inside the database\'s container (or on its host) without PG_CONTAINER/PG_COMPOSE_SERVICE',
  });
}

/** Gives a file or directory tidemark made to the user pgBackRest runs as. */
export function handOver(file: string, as: RunAs): void {
  if (as.uid !== undefined) chownSync(file, as.uid, as.gid ?? as.uid);
}

/** pgBackRest's own variables for the repository's secrets: their values never reach an argv. */
export function secretEnv(settings: PitrSettings): Record<string, string> {
  const env: Record<string, string> = {};
  const repo = settings.repo;
  if (repo.kind === 's3' && repo.key) env.PGBACKREST_REPO1_S3_KEY = repo.key;
  if (repo.kind === 's3' && repo.secret) env.PGBACKREST_REPO1_S3_KEY_SECRET = repo.secret;
  if (settings.cipherPass) Object.assign(env, { PGBACKREST_REPO1_CIPHER_TYPE: 'aes-256-cbc', PGBACKREST_REPO1_CIPHER_PASS: settings.cipherPass });
  return env;
}

/** What every run of pgBackRest needs: the program, its configuration, who runs it. */
export interface PitrContext {
  settings: PitrSettings;
  stanza: string;
  tool: Pgbackrest;
  as: RunAs;
  configFile: string;
  includeDir: string;
  /** The database, when pgBackRest must connect to it (backup, check, stanza-create): its password goes in a passfile. */
  target?: DatabaseTarget;
}

/**
 * The command line of `pgbackrest <command>`: configuration and stanza first,
 * then the command's own options. Only option names and non-secret values.
 */
export function pgbackrestArgs(ctx: Pick<PitrContext, 'configFile' | 'includeDir' | 'stanza'>, command: string, options: string[] = []): string[] {
  return [`--config=${ctx.configFile}`, `--config-include-path=${ctx.includeDir}`, `--stanza=${ctx.stanza}`, ...options, command];
}

function prepare(ctx: PitrContext, command: string, options: string[]): PreparedCommand {
  const env: NodeJS.ProcessEnv = { ...offlineEnv(ctx.target?.password), ...secretEnv(ctx.settings) };
  const args = pgbackrestArgs(ctx, command, options);
  if (ctx.settings.host.kind !== 'local') {
    const forward = Object.keys(secretEnv(ctx.settings));
    if (ctx.target?.password) {
      env.PGPASSWORD = ctx.target.password;
      forward.push('PGPASSWORD');
    }
    return { file: 'docker', args: [...containerPrefix(ctx.settings, forward), 'pgbackrest', ...args], env, cleanup: async () => undefined };
  }
  const passfile = ctx.target?.password ? writePassfile(ctx.target.password) : undefined;
  if (passfile) {
    // pgBackRest runs as the server's user: it must read the file, which stays 0600 in its 0700 directory.
    handOver(path.dirname(passfile.path), ctx.as);
    handOver(passfile.path, ctx.as);
    env.PGPASSFILE = passfile.path;
  }
  return { file: ctx.tool.file, args, env, cleanup: async () => passfile?.remove() };
}

/** Starts `pgbackrest <command>`; the caller reads `done` (or `output`). */
export async function startPgbackrest(ctx: PitrContext, command: string, options: string[] = [], run: Omit<StartOptions, 'spawnOptions'> = {}): Promise<RunningTool> {
  return startTool(prepare(ctx, command, options), { ...run, spawnOptions: ctx.as });
}

export async function runPgbackrest(ctx: PitrContext, command: string, options: string[] = [], run: Omit<StartOptions, 'spawnOptions' | 'stdout'> = {}): Promise<ToolOutput> {
  return (await startPgbackrest(ctx, command, options, { ...run, stdout: 'collect' })).output;
}

/** What pgBackRest said, its `ERROR: [NNN]:` lines first, secrets masked. */
export function pgbackrestFailure(command: string, result: ToolOutput, ctx: PitrContext): string {
  const secrets = [ctx.target?.password, ...Object.values(secretEnv(ctx.settings))].filter((s): s is string => !!s);
  let text = describeExit(`pgbackrest ${command}`, { ...result, stderr: [result.stderr, result.stdout].filter(Boolean).join('\n') }, undefined);
  for (const secret of secrets) if (secret.length >= 3) text = text.split(secret).join('****');
  return text;
}
