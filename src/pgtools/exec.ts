import path from 'node:path';
import type { DatabaseTarget } from '../connection-string.js';
import { removeLeftBehind, writePassfile } from './passfile.js';

/** Where PostgreSQL's client programs run: here, or inside a container next to the server. */
export type ToolHost =
  | { kind: 'local'; binDir?: string }
  | { kind: 'docker'; container: string }
  | { kind: 'compose'; service: string; file?: string };

export function toolHostFromEnv(env: Record<string, string | undefined>, binDir?: string): ToolHost {
  if (env.PG_CONTAINER) return { kind: 'docker', container: env.PG_CONTAINER };
  if (env.PG_COMPOSE_SERVICE) return { kind: 'compose', service: env.PG_COMPOSE_SERVICE, file: env.PG_COMPOSE_FILE || undefined };
  return { kind: 'local', binDir };
}

export function describeHost(host: ToolHost): string {
  if (host.kind === 'docker') return `in container ${host.container} (docker exec)`;
  if (host.kind === 'compose') return `in compose service ${host.service} (docker compose exec)`;
  return 'locally';
}

/** A program's command line and environment, ready for startTool (run.ts). */
export interface PreparedCommand {
  file: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** Removes the temporary password file, if any. */
  cleanup(): Promise<void>;
}

// libpq reads these from the environment; only their names ever reach an argv.
const FORWARDED = ['PGPASSWORD', 'PGSSLMODE', 'PGAPPNAME', 'PGOPTIONS', 'PGCONNECT_TIMEOUT'];

function libpqEnv(target: DatabaseTarget): Record<string, string> {
  const env: Record<string, string> = { PGAPPNAME: String(target.client.application_name ?? 'tidemark') };
  const url = new URL(target.redacted);
  const sslmode = url.searchParams.get('sslmode');
  if (sslmode) env.PGSSLMODE = sslmode;
  if (target.client.options) env.PGOPTIONS = String(target.client.options);
  // libpq counts whole seconds; 0 (no limit) is left to libpq's own default.
  if (target.connectTimeoutMs > 0) env.PGCONNECT_TIMEOUT = String(Math.max(2, Math.ceil(target.connectTimeoutMs / 1000)));
  return env;
}

/** The environment without any variable that holds the password (DATABASE_URL above all): a child's environment is readable in /proc. */
function withoutSecret(env: NodeJS.ProcessEnv, password: string | undefined): NodeJS.ProcessEnv {
  if (!password) return env;
  const forms = [password, encodeURIComponent(password)];
  for (const [name, value] of Object.entries(env)) if (value && forms.some((form) => value.includes(form))) delete env[name];
  return env;
}

// user:password@ in a URL, whosever it is.
const CREDENTIALS_IN_URL = /:\/\/[^/@\s]*:[^/@\s]*@/;

/**
 * The environment of a program that connects to no server (`pg_dump
 * --version`, pg_restore reading an archive): without DATABASE_URL, PGPASSWORD,
 * any URL with a password in it, and any variable holding `password`.
 */
export function offlineEnv(password?: string): NodeJS.ProcessEnv {
  const env = withoutSecret({ ...process.env }, password);
  delete env.DATABASE_URL;
  delete env.PGPASSWORD;
  for (const [name, value] of Object.entries(env)) if (value && CREDENTIALS_IN_URL.test(value)) delete env[name];
  return env;
}

/** `-h host -p port -U user` for a local run; only `-U user` inside a container, which connects over its own socket. */
export function connectionArgs(target: DatabaseTarget, host: ToolHost): string[] {
  const user = target.user ? ['-U', target.user] : [];
  return host.kind === 'local' ? ['-h', target.host, '-p', String(target.port), ...user] : user;
}

/**
 * The command line for a client program. The password travels in a
 * temporary passfile (0600, in a 0700 directory of its own, see passfile.ts)
 * for a local run, or in the docker client's environment, forwarded by name
 * (`-e PGPASSWORD`), into a container. Passfile directories left behind by a
 * killed run are removed first.
 */
export async function prepareTool(tool: string, args: string[], target: DatabaseTarget, host: ToolHost, toolPath?: string, options: { tty?: boolean } = {}): Promise<PreparedCommand> {
  removeLeftBehind();
  const env = withoutSecret({ ...process.env, ...libpqEnv(target) }, target.password);
  delete env.PGPASSWORD;
  if (host.kind === 'local') {
    const passfile = target.password ? writePassfile(target.password) : undefined;
    if (passfile) env.PGPASSFILE = passfile.path;
    const file = toolPath ?? (host.binDir ? path.join(host.binDir, tool) : tool);
    return { file, args, env, cleanup: async () => passfile?.remove() };
  }
  if (target.password) env.PGPASSWORD = target.password;
  const forward = FORWARDED.filter((name) => env[name] !== undefined).flatMap((name) => ['-e', name]);
  // An interactive program (psql at a prompt) needs a terminal in the container too.
  const prefix = host.kind === 'docker'
    ? ['exec', '-i', ...(options.tty ? ['-t'] : []), ...forward, host.container]
    : ['compose', ...(host.file ? ['-f', host.file] : []), 'exec', ...(options.tty ? [] : ['-T']), ...forward, host.service];
  return { file: 'docker', args: [...prefix, tool, ...args], env, cleanup: async () => undefined };
}
