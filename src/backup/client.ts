import { TidemarkError } from '../errors.js';
import { findTools, parseToolVersion, pickTool, type ClientTool } from '../pgtools/locate.js';
import { describeHost, prepareTool, type ToolHost } from '../pgtools/exec.js';
import { describeExit, failed, runTool } from '../pgtools/run.js';
import type { DatabaseTarget } from '../connection-string.js';

export interface ChosenClient {
  /** Local path; undefined inside a container (the container's own tool runs). */
  path?: string;
  version: string;
  major: number;
}

async function containerTool(tool: string, target: DatabaseTarget, host: ToolHost, operation: string): Promise<ChosenClient> {
  const cmd = await prepareTool(tool, ['--version'], target, host);
  // A container that does not answer within this is as good as missing.
  const result = await runTool(cmd, { timeoutMs: 30_000 });
  const parsed = failed(result) ? undefined : parseToolVersion(result.stdout);
  if (parsed) return parsed;
  const cause = failed(result) ? describeExit(`${cmd.file} ${cmd.args[0]}`, result, target.password) : `unexpected output: ${result.stdout.trim().slice(0, 200)}`;
  throw containerToolError(tool, host, operation, cause.split('\n').slice(0, 2).join(': '));
}

/** A client program that cannot be run in the container (no docker, no container, no such program in it). */
export function containerToolError(tool: string, host: ToolHost, operation: string, cause: string): TidemarkError {
  return new TidemarkError('BACKUP_CLIENT_NOT_FOUND', `cannot run ${tool} ${describeHost(host)}`, {
    operation, cause,
    hint: 'check that Docker is running, the container name (PG_CONTAINER) or service (PG_COMPOSE_SERVICE), and that the image has the PostgreSQL client tools',
  });
}

function listVersions(tools: ClientTool[]): string {
  return tools.map((t) => `${t.version} (${t.path})`).join(', ');
}

/**
 * The client program to use: for a dump, one whose major version is at least
 * the server's (pg_dump refuses newer servers: "server version mismatch");
 * otherwise the newest found, which reads every older archive.
 */
export async function chooseClient(tool: string, target: DatabaseTarget | undefined, host: ToolHost, env: Record<string, string | undefined>, operation: string, serverMajor?: number): Promise<ChosenClient> {
  if (host.kind !== 'local' && target) {
    const chosen = await containerTool(tool, target, host, operation);
    if (serverMajor !== undefined && chosen.major < serverMajor) throw tooOld(tool, serverMajor, `${chosen.version} ${describeHost(host)}`, operation);
    return chosen;
  }
  const tools = await findTools(tool, env);
  if (!tools.length) {
    throw new TidemarkError('BACKUP_CLIENT_NOT_FOUND', `${tool} not found`, {
      operation, cause: `no ${tool} in ${env.PG_BIN_DIR ? `PG_BIN_DIR (${env.PG_BIN_DIR})` : 'PATH, /usr/lib/postgresql/*/bin, /usr/pgsql-*/bin or Homebrew'}`,
      hint: 'install the PostgreSQL client tools (e.g. apt-get install postgresql-client-18), or set PG_BIN_DIR',
    });
  }
  if (serverMajor === undefined) return tools.sort((a, b) => b.major - a.major)[0];
  const chosen = pickTool(tools, serverMajor);
  if (!chosen) throw tooOld(tool, serverMajor, listVersions(tools), operation);
  return chosen;
}

function tooOld(tool: string, serverMajor: number, found: string, operation: string): TidemarkError {
  return new TidemarkError('BACKUP_CLIENT_TOO_OLD', `${tool} is older than the server`, {
    operation,
    cause: `the server is PostgreSQL ${serverMajor}; ${tool} found: ${found}. ${tool} cannot dump a server of a newer major version`,
    hint: `install the PostgreSQL ${serverMajor} client tools (e.g. apt-get install postgresql-client-${serverMajor}) and put them on PATH or set PG_BIN_DIR to their bin directory`,
  });
}
