import type { StdioOptions } from 'node:child_process';
import { constants } from 'node:os';
import type { Settings } from '../config.js';
import { TidemarkError, describeCause } from '../errors.js';
import { connectionArgs, describeHost, prepareTool, spawnTool, toolHostFromEnv, type ToolHost } from '../pgtools/exec.js';
import { findTools } from '../pgtools/locate.js';

export interface PsqlOptions {
  /** More arguments for psql, after the connection's. */
  args?: string[];
  /** The terminal's streams for an interactive session ('inherit'). */
  stdio?: StdioOptions;
  /** Ask docker for a terminal in the container too (when stdin is one). */
  tty?: boolean;
}

function notFound(host: ToolHost, cause: string): TidemarkError {
  return new TidemarkError('PSQL_NOT_FOUND', 'cannot start psql', {
    operation: `start psql ${describeHost(host)}`,
    cause,
    hint: host.kind === 'local'
      ? 'install the PostgreSQL client (Debian: apt install postgresql-client; macOS: brew install libpq), or set PG_BIN_DIR to its directory'
      : 'check that docker is installed and that the container is running and has psql',
  });
}

/** The newest psql installed here: it reads older servers' catalogs, not always newer ones'. */
async function localPsql(settings: Settings, host: ToolHost): Promise<string> {
  const tools = await findTools('psql', settings.env);
  const newest = tools.sort((a, b) => b.major - a.major)[0];
  if (!newest) throw notFound(host, settings.env.PG_BIN_DIR ? `no psql in PG_BIN_DIR (${settings.env.PG_BIN_DIR})` : 'psql is not on PATH nor in the usual install locations');
  return newest.path;
}

/**
 * Runs psql on the configured database, here or inside PG_CONTAINER, and
 * resolves with its exit status. The password reaches psql through a
 * passfile or the environment, never its argv (`task db:psql`).
 */
export async function openPsql(settings: Settings, options: PsqlOptions = {}): Promise<number> {
  const host = toolHostFromEnv(settings.env);
  const target = settings.database;
  const toolPath = host.kind === 'local' ? await localPsql(settings, host) : undefined;
  const args = [...connectionArgs(target, host), '-d', target.database, ...(options.args ?? [])];
  const command = await prepareTool('psql', args, target, host, toolPath, { tty: options.tty });
  try {
    const { code, signal } = await spawnTool(command, options.stdio ?? 'inherit').done;
    return code ?? 128 + (signal ? constants.signals[signal] : 0);
  } catch (err) {
    await command.cleanup();
    throw notFound(host, describeCause(err));
  }
}
