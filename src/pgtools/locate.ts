import { existsSync, readdirSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { failed, offlineCommand, runTool } from './run.js';

export interface ClientTool {
  /** Absolute path of the binary. */
  path: string;
  /** Full version string, e.g. "15.18". */
  version: string;
  major: number;
}

/** Where PostgreSQL client tools usually live, besides PATH. */
function candidateDirs(env: Record<string, string | undefined>): string[] {
  const dirs: string[] = [];
  const glob = (base: string, pattern: RegExp, suffix: string) => {
    if (!existsSync(base)) return;
    for (const entry of readdirSync(base)) if (pattern.test(entry)) dirs.push(path.join(base, entry, suffix));
  };
  dirs.push(...(env.PATH ?? '').split(path.delimiter).filter(Boolean));
  glob('/usr/lib/postgresql', /^\d+(\.\d+)?$/, 'bin');
  glob('/usr', /^pgsql-\d+$/, 'bin');
  glob('/opt/homebrew/opt', /^postgresql(@\d+)?$/, 'bin');
  glob('/usr/local/opt', /^postgresql(@\d+)?$/, 'bin');
  dirs.push('/opt/homebrew/bin', '/usr/local/bin', '/usr/local/pgsql/bin');
  return [...new Set(dirs)];
}

/** "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)" → 15.18 */
export function parseToolVersion(output: string): { version: string; major: number } | undefined {
  const match = output.match(/\(PostgreSQL\)\s+(\d+(?:\.\d+)*)/);
  return match ? { version: match[1], major: Number(match[1].split('.')[0]) } : undefined;
}

/** The program's version, or undefined when it does not run or answer within 10 s (not one of PostgreSQL's, or broken). */
export async function toolVersion(file: string): Promise<ClientTool | undefined> {
  const result = await runTool(offlineCommand(file, ['--version']), { timeoutMs: 10_000 });
  const parsed = failed(result) ? undefined : parseToolVersion(result.stdout);
  return parsed && { path: file, ...parsed };
}

/**
 * Every installed copy of a client tool: PG_BIN_DIR alone when set, else PATH
 * and the usual install locations. Duplicates (symlinks) count once.
 */
export async function findTools(name: string, env: Record<string, string | undefined>): Promise<ClientTool[]> {
  const dirs = env.PG_BIN_DIR ? [env.PG_BIN_DIR] : candidateDirs(env);
  const files = dirs.map((d) => path.join(d, name)).filter((f) => existsSync(f));
  const found = (await Promise.all(files.map(toolVersion))).filter((t): t is ClientTool => !!t);
  // Debian's /usr/bin entries are pg_wrapper, which picks a version itself; the real binaries come first.
  const real = found.filter((t) => !realpathSync(t.path).endsWith('pg_wrapper'));
  const byVersion = new Map<string, ClientTool>();
  for (const tool of real.length ? real : found) if (!byVersion.has(tool.version)) byVersion.set(tool.version, tool);
  return [...byVersion.values()];
}

/** The lowest major at least the server's: the client whose output the server understands best. */
export function pickTool(tools: ClientTool[], serverMajor: number): ClientTool | undefined {
  return tools.filter((t) => t.major >= serverMajor).sort((a, b) => a.major - b.major)[0];
}
