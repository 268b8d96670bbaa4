/**
 * Faults delivered to real processes: signals to the command, SIGKILL to one
 * of its children (found through /proc/<pid>/task/<tid>/children), and the
 * processes a trial left behind (found by a marker in their environment,
 * which every child inherits).
 */
import { readFileSync, readdirSync } from 'node:fs';

export interface ProcessInfo {
  pid: number;
  name: string;
  args: string[];
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function info(pid: number): ProcessInfo | undefined {
  const cmdline = read(`/proc/${pid}/cmdline`);
  const name = read(`/proc/${pid}/comm`)?.trim();
  if (cmdline === undefined || name === undefined) return undefined;
  return { pid, name, args: cmdline.split('\0').filter(Boolean) };
}

/** Direct children of every thread of pid (a child belongs to the thread that forked it). */
function childPids(pid: number): number[] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tids.flatMap((tid) => (read(`/proc/${pid}/task/${tid}/children`) ?? '').split(' ').filter(Boolean).map(Number));
}

export function descendants(pid: number): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (const child of childPids(pid)) {
    const i = info(child);
    if (i) found.push(i, ...descendants(child));
  }
  return found;
}

export type ChildKind = 'pg_dump' | 'verifier' | 'pg_restore' | 'psql';

/** The verifying pg_restore reads the archive back to /dev/null; the restoring one writes into a database. */
export function isKind(p: ProcessInfo, kind: ChildKind): boolean {
  // A client's version probe (`pg_dump --version`, when choosing the client) is not the work.
  if (p.args.includes('--version') || p.args.includes('-V')) return false;
  if (kind === 'verifier') return p.name === 'pg_restore' && p.args.includes('--file=/dev/null');
  if (kind === 'pg_restore') return p.name === 'pg_restore' && !p.args.includes('--file=/dev/null');
  return p.name === kind;
}

export function findChild(cliPid: number, kind: ChildKind): ProcessInfo | undefined {
  return descendants(cliPid).find((p) => isKind(p, kind));
}

/** Sends a signal; false when the process is already gone. */
export function sendSignal(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Processes (other than zombies) whose environment holds NAME=value. */
export function markedProcesses(name: string, value: string): ProcessInfo[] {
  const needle = `${name}=${value}\0`;
  const found: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const environ = read(`/proc/${entry}/environ`);
    if (!environ || !environ.includes(needle)) continue;
    if (/^\d+ \(.*\) Z/.test(read(`/proc/${entry}/stat`) ?? '')) continue;
    const i = info(Number(entry));
    if (i) found.push(i);
  }
  return found;
}
