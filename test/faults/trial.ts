/**
 * One run of a command under observation: its output as it comes, its exit,
 * and the checks every trial makes whatever the command (exit status for
 * the fault, no stack trace, no secret, nothing left in the temp directory,
 * no child left running).
 */
import type { ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { spawnCli } from '../helpers/cli.js';
import { markedProcesses, sendSignal } from './inject.js';

export const MARKER = 'TIDEMARK_FAULT_TRIAL';

export type FaultKind =
  | 'SIGINT' | 'SIGTERM' | 'SIGKILL'
  | 'kill-pg_dump' | 'kill-verifier' | 'kill-pg_restore' | 'kill-psql'
  | 'restart-fast' | 'restart-immediate'
  | 'stall-then-cut' | 'cut'
  | 'disk-full';

export interface RunningCli {
  pid: number;
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exited: boolean;
  result: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startCli(target: string, args: string[], env: Record<string, string | undefined>, cwd?: string): RunningCli {
  const child = spawnCli(target, args, { env, cwd });
  const run: RunningCli = { pid: child.pid!, child, stdout: '', stderr: '', exited: false, result: undefined as never };
  child.stdout!.on('data', (d) => (run.stdout += d));
  child.stderr!.on('data', (d) => (run.stderr += d));
  child.stdin!.end();
  run.result = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      run.exited = true;
      resolve({ code, signal });
    });
  });
  return run;
}

export type Reached = 'reached' | 'exited' | 'timeout';

/**
 * Polls a condition every few milliseconds (an injection point can be a
 * window of a few milliseconds) until it holds, the command exits, or the
 * bound passes.
 */
export async function until(check: () => boolean | Promise<boolean>, run: RunningCli, timeoutMs = 20_000): Promise<Reached> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return 'reached';
    if (run.exited) return 'exited';
    if (Date.now() > deadline) return 'timeout';
    await new Promise((r) => setTimeout(r, 3));
  }
}

/** A pause of a length chosen at random: a point of injection, never a wait for a condition. */
export const randomPause = (ms: number) => new Promise((r) => setTimeout(r, ms));

// A command that does not end within this bound after its fault hangs: it is killed and the trial fails.
const HANG_BOUND_MS = 10_000;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  hung: boolean;
}

export async function finished(run: RunningCli): Promise<Exit> {
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    sendSignal(run.pid, 'SIGKILL');
  }, HANG_BOUND_MS);
  const { code, signal } = await run.result;
  clearTimeout(timer);
  return { code, signal, stdout: run.stdout, stderr: run.stderr, hung };
}

/**
 * The error code the command printed (`CODE: message` on stderr, or in
 * --json); the line a first signal prints (`SIGINT: cancelling …`) is not one.
 */
export function errorCode(stderr: string): string | undefined {
  const codes = [...stderr.matchAll(/^([A-Z][A-Z0-9_]+): /gm)].map((m) => m[1]).filter((c) => !/^SIG[A-Z]+$/.test(c));
  return codes[0] ?? stderr.match(/"code":\s*"([A-Z_]+)"/)?.[1];
}

const STACK_LINE = /^\s+at \S.*(:\d+:\d+\)?|\(native\)|<anonymous>\)?)$/m;
const UNCODED_ERROR = /^[A-Za-z]*Error(\s*\[[A-Z_]+\])?: /m;

/** Problems every command's output must be free of. */
export function outputProblems(exit: Exit, secret: string): string[] {
  const problems: string[] = [];
  const text = `${exit.stdout}\n${exit.stderr}`;
  if (exit.hung) problems.push(`hung: no exit within ${HANG_BOUND_MS / 1000} s of the fault (killed by the test)`);
  if (STACK_LINE.test(exit.stderr) || UNCODED_ERROR.test(exit.stderr)) problems.push(`stack trace or uncoded error on stderr: ${excerpt(exit.stderr)}`);
  if (text.includes(secret)) problems.push('the password appears in the output');
  return problems;
}

/**
 * The exit status a fault calls for: 130/143 with INTERRUPTED for SIGINT and
 * SIGTERM, death by SIGKILL, 1 with a code for the rest; 0 is allowed when
 * the command finished before the fault could matter (the state checks then
 * demand the complete result). `failureCodes` narrows the codes for faults
 * that have a documented one. A backfill stopped by a signal ends as a
 * clean stop (its report, exit 130/143), not as an error.
 */
export function exitProblems(fault: FaultKind, exit: Exit, failureCodes?: string[], interruptedCode = true): string[] {
  const code = errorCode(exit.stderr);
  const what = `exit ${exit.code ?? exit.signal}${code ? ` ${code}` : ''}`;
  if (exit.code === 0) return [];
  if (fault === 'SIGINT' || fault === 'SIGTERM') {
    const status = fault === 'SIGINT' ? 130 : 143;
    if (exit.code !== status) return [`${fault}: expected exit ${status} with INTERRUPTED, got ${what}: ${excerpt(exit.stderr)}`];
    return code === 'INTERRUPTED' || !interruptedCode ? [] : [`${fault}: exit ${status} without the INTERRUPTED code: ${excerpt(exit.stderr)}`];
  }
  if (fault === 'SIGKILL') return exit.signal === 'SIGKILL' ? [] : [`SIGKILL: expected death by SIGKILL, got ${what}`];
  if (exit.code !== 1 || !code) return [`${fault}: expected exit 1 with an error code, got ${what}: ${excerpt(exit.stderr)}`];
  if (failureCodes && !failureCodes.includes(code)) return [`${fault}: expected ${failureCodes.join(' or ')}, got ${code}: ${excerpt(exit.stderr)}`];
  return [];
}

/**
 * A process killed by SIGINT/SIGTERM before it set up its handlers (Node.js
 * still starting): a shell reports 130/143 too. Only for a fault sent at a
 * random delay after the start (`early`), never at a point that shows the
 * command at work; the scenarios check that nothing changed.
 */
export function diedAtStartUp(fault: FaultKind, exit: Exit, early: boolean): boolean {
  return early && (fault === 'SIGINT' || fault === 'SIGTERM') && exit.signal === fault && !exit.stdout && !exit.stderr;
}

/** `exit 1`, `exit SIGKILL`: for the report. */
export const exitText = (exit: Exit) => `exit ${exit.code ?? exit.signal}`;

export function excerpt(text: string, max = 300): string {
  const flat = text.trim().replace(/\s*\n\s*/g, ' | ');
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** Passfiles and temporary directories of the command's own in its TMPDIR. */
export function tempLeftovers(dir: string): string[] {
  return readdirSync(dir).filter((f) => /^tidemark-.*\.pgpass$/.test(f) || /^tidemark-pg-/.test(f));
}

/** Children of the trial still running after the command ended: given a bound to end (they may be finishing their exit). */
export async function lingeringChildren(marker: string): Promise<string[]> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const left = markedProcesses(MARKER, marker);
    if (!left.length) return [];
    if (Date.now() > deadline) return left.map((p) => `${p.name} (pid ${p.pid})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
