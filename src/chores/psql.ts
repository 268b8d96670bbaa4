import type { StdioOptions } from 'node:child_process';
import { constants } from 'node:os';
import type { Settings } from '../config.js';
import { TidemarkError, abortSignalName, interruptedError } from '../errors.js';
import { connectionArgs, describeHost, prepareTool, toolHostFromEnv, type ToolHost } from '../pgtools/exec.js';
import { startTool, type StartOptions } from '../pgtools/run.js';
import { findTools } from '../pgtools/locate.js';

export interface PsqlOptions {
  /** More arguments for psql, after the connection's. */
  args?: string[];
  /** The terminal's streams for an interactive session ('inherit'). */
  stdio?: StdioOptions;
  /** Ask docker for a terminal in the container too (when stdin is one). */
  tty?: boolean;
  /** Aborted with a signal's name: psql gets that signal, and the session ends as INTERRUPTED. */
  signal?: AbortSignal;
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
  if (options.signal?.aborted) {
    await command.cleanup();
    throw interrupted(options.signal, 'before psql started');
  }
  // The abort sends psql the signal this process got (a terminal's Ctrl-C reaches psql itself anyway).
  const ended = await (await startTool(command, { ...streams(options.stdio ?? 'inherit'), signal: options.signal })).done;
  if (ended.startError) throw notFound(host, ended.startError);
  if (options.signal?.aborted) throw interrupted(options.signal, `psql ended${ended.signal ? ` by ${ended.signal}` : ''}`);
  return ended.code ?? 128 + (ended.signal ? constants.signals[ended.signal] : 0);
}

type Stdio = 'ignore' | 'pipe' | 'inherit';

/** The caller's stdio as the process layer's: what psql prints to a pipe is gathered (and dropped) rather than left to fill it. */
function streams(stdio: StdioOptions): Pick<StartOptions, 'stdin' | 'stdout' | 'stderr'> {
  const [stdin, stdout, stderr] = (Array.isArray(stdio) ? stdio : [stdio, stdio, stdio]) as Stdio[];
  return {
    stdin: stdin ?? 'ignore',
    stdout: stdout === 'pipe' ? 'collect' : stdout ?? 'ignore',
    stderr: stderr === 'inherit' ? 'inherit' : 'collect',
  };
}

function interrupted(signal: AbortSignal, state: string): TidemarkError {
  return interruptedError(abortSignalName(signal), 'run psql', `${state}; its passfile is removed`);
}
