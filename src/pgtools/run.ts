/**
 * The one place where tidemark runs a program (pg_dump, pg_restore, psql,
 * docker, the development cluster's initdb and pg_ctl): zx's `$`, loaded only
 * when a program is about to run, so that the commands that never run one
 * (migrate, migrate:status, ...) never load it.
 *
 * zx is told everything explicitly, so that neither its defaults nor ZX_*
 * variables of the environment change what runs:
 * - no shell: zx renders the command as one shell line, but the `spawn` given
 *   here runs the program file itself with its argv (execve); the line is a
 *   label that is never run, and never logged (no verbose output, no log);
 * - the environment is the prepared command's (see prepareTool), never
 *   process.env, which may hold DATABASE_URL;
 * - no exception for a failing exit: the exit is a value, and the caller
 *   makes the coded error its operation means;
 * - a stdout that is streamed (pg_dump's archive) is not gathered in memory.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { pipeline } from 'node:stream/promises';
import type { Readable, Writable } from 'node:stream';
import type { ProcessPromise } from 'zx/core';
import { abortSignalName } from '../errors.js';
import { maskSecrets } from '../connection-string.js';
import { offlineEnv, type PreparedCommand } from './exec.js';

type Zx = typeof import('zx/core');
type ZxOptions = import('zx/core').Options;

/**
 * zx/core's CommonJS entry, required when the first program runs. Its ES
 * module entry wraps the very same file, but importing it costs a command
 * that has no other ES module the start of Node's ES module loader and a scan
 * of zx's exports: some 25 ms more on every backup. A require is no import(),
 * so it runs from the code cache as well (see src/import-external.ts).
 */
function loadZx(): Zx {
  return createRequire(import.meta.url)('zx/core') as Zx;
}

/** How a program ended. `startError` is why it could not start at all (ENOENT, EACCES). */
export interface ToolExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  startError?: string;
}

export interface ToolOutput extends ToolExit {
  stdout: string;
}

export interface StartOptions {
  /** 'pipe': written by the caller through `stdin`; a function: a stream fed to the program (its end ends stdin). */
  stdin?: 'ignore' | 'pipe' | 'inherit' | (() => Readable);
  /** 'stream': read by the caller through `stdout`, never gathered; 'collect': returned whole by runTool. */
  stdout?: 'ignore' | 'stream' | 'collect' | 'inherit';
  /** 'collect' (the default) keeps it for the error report. */
  stderr?: 'collect' | 'inherit';
  /** Aborting it sends the program `killSignal`, or the abort's own signal (SIGINT, SIGTERM). */
  signal?: AbortSignal;
  killSignal?: NodeJS.Signals;
  /** The program is sent SIGTERM after this long. */
  timeoutMs?: number;
  /** Options of the spawn itself (the devdb runs its server's programs as another user). */
  spawnOptions?: { uid?: number; gid?: number };
}

/** A program started by startTool. */
export interface RunningTool {
  readonly pid: number | undefined;
  readonly stdin: Writable | null;
  /** Flowing from the start (zx reads it too): attach the reader before anything is awaited. */
  readonly stdout: Readable | null;
  /** Also gathered for `done`; read it for what the program says as it runs. */
  readonly stderr: Readable | null;
  /** Resolves, never rejects, once the program's streams closed and its passfile is removed. */
  readonly done: Promise<ToolExit>;
  /** As done, with the stdout zx gathered (empty unless stdout was 'collect'). */
  readonly output: Promise<ToolOutput>;
  running(): boolean;
  /** A signal to the program itself (zx's own kill walks the process tree with ps, a program of its own). */
  kill(signal?: NodeJS.Signals): void;
}

/** Stands for an array that keeps nothing: what zx would gather of a streamed stdout. */
const DISCARD = Object.freeze({
  push: () => 0,
  length: 0,
  reduce: <T>(_fn: unknown, initial: T) => initial,
  [Symbol.iterator]: function* () {},
});

/**
 * How zx stops a program on its timeout. Its own kill lists the process tree
 * with `ps` (a program of its own, run with process.env), and throws out of a
 * timer where `ps` is missing or prints something unexpected, leaving the
 * program running: the signal goes to the program itself instead.
 */
async function signalProgram(pid: number | `${number}`, signal?: NodeJS.Signals): Promise<void> {
  try {
    process.kill(Number(pid), signal ?? 'SIGTERM');
  } catch {
    // Already gone.
  }
}

/** The program file itself, with its argv: zx's shell line is not run. */
const directSpawn = (cmd: PreparedCommand, extra: StartOptions['spawnOptions']) =>
  ((_line: string, _args: unknown, opts: object) => spawn(cmd.file, cmd.args, { ...opts, ...extra, shell: false })) as never;

function zxOptions(cmd: PreparedCommand, options: StartOptions): Partial<ZxOptions> {
  const stdio = [
    typeof options.stdin === 'function' ? 'pipe' : options.stdin ?? 'ignore',
    options.stdout === 'stream' || options.stdout === 'collect' ? 'pipe' : options.stdout ?? 'ignore',
    options.stderr === 'inherit' ? 'inherit' : 'pipe',
  ] as ('ignore' | 'pipe' | 'inherit')[];
  const store = options.stdout === 'collect' ? undefined : { stdout: DISCARD, stderr: [], stdall: DISCARD };
  return {
    env: cmd.env,
    cwd: process.cwd(),
    stdio,
    // Always named, undefined too: these options are set afresh for each call (see startTool).
    store: store as never,
    spawn: directSpawn(cmd, options.spawnOptions),
    shell: true as const, // never used: the spawn above runs no shell; zx only requires one to be named
    quote: (arg: string) => JSON.stringify(arg),
    prefix: '',
    postfix: '',
    nothrow: true,
    quiet: true,
    verbose: false,
    log: () => undefined,
    preferLocal: false,
    detached: false,
    timeout: options.timeoutMs ?? 0,
    kill: signalProgram,
    timeoutSignal: 'SIGTERM' as const,
    killSignal: 'SIGTERM' as const,
  };
}

/** Waits for the program and its input, removes its passfile; a start failure becomes a value. */
async function settle(proc: ProcessPromise, cmd: PreparedCommand, feeding: Promise<void>): Promise<ToolOutput> {
  try {
    const [output] = await Promise.all([proc, feeding]);
    const cause = output.cause as NodeJS.ErrnoException | null;
    // Node reports a program that could not start as a negative errno in place of an exit status.
    const notStarted = cause && (output.exitCode === null || output.exitCode < 0) && !output.signal;
    const startError = notStarted ? `${cmd.file}: ${cause.code ?? cause.message}` : undefined;
    const { stdout, stderr, signal } = output;
    return { code: startError ? null : output.exitCode, signal, stdout, stderr, ...(startError && { startError }) };
  } finally {
    await cmd.cleanup();
  }
}

/**
 * Starts a prepared command. Its stdout, when streamed, must be read (or
 * the program waits on a full pipe); `done` says how it ended.
 */
export async function startTool(cmd: PreparedCommand, options: StartOptions = {}): Promise<RunningTool> {
  let proc: ProcessPromise;
  try {
    // The options go in as zx's defaults, set right before the call that copies them, in the same
    // synchronous step: `$(options)` would run the call inside zx's AsyncLocalStorage, which on Node 20
    // turns on promise hooks for the rest of the process, a tax on every promise of a streamed backup.
    const { $ } = loadZx();
    Object.assign($, zxOptions(cmd, options));
    proc = $`${cmd.file} ${cmd.args}`;
  } catch (err) {
    await cmd.cleanup(); // zx missing, or this process's working directory gone
    throw err;
  }
  const child = proc.child;
  const feed = options.stdin;
  const feeding = typeof feed === 'function' && child?.stdin
    // A program that stops reading (it failed, or was stopped) ends the feeding, not the run.
    ? pipeline(feed(), child.stdin).catch(() => undefined)
    : Promise.resolve();
  child?.stdin?.on('error', () => undefined);
  const output = settle(proc, cmd, feeding);
  const running = () => !!child && child.exitCode === null && child.signalCode === null;
  const kill = (signal: NodeJS.Signals = 'SIGTERM') => {
    if (running()) child!.kill(signal);
  };
  const stopOn = options.signal;
  if (stopOn) {
    const stop = () => kill(options.killSignal ?? (abortSignalName(stopOn) as NodeJS.Signals | undefined) ?? 'SIGTERM');
    if (stopOn.aborted) stop();
    else stopOn.addEventListener('abort', stop, { once: true });
    void output.finally(() => stopOn.removeEventListener('abort', stop));
  }
  const done = output.then(({ stdout: _gathered, ...exit }): ToolExit => exit);
  const streams = { stdin: child?.stdin ?? null, stdout: child?.stdout ?? null, stderr: child?.stderr ?? null };
  return { pid: child?.pid, ...streams, done, output, running, kill };
}

/** Runs a prepared command to its end; its stdout is returned whole (for small outputs: a version, rows of psql). */
export async function runTool(cmd: PreparedCommand, options: Omit<StartOptions, 'stdout'> = {}): Promise<ToolOutput> {
  return (await startTool(cmd, { ...options, stdout: 'collect' })).output;
}

/** A program that connects to no server (a version, an archive read here): no passfile, and no password in its environment. */
export function offlineCommand(file: string, args: string[], password?: string): PreparedCommand {
  return { file, args, env: offlineEnv(password), cleanup: async () => undefined };
}

/** SIGTERM, a grace period, then SIGKILL: returns once every program has exited. */
export async function stopTools(tools: RunningTool[], graceMs = 5_000): Promise<void> {
  const alive = tools.filter((tool) => tool.running());
  for (const tool of alive) {
    tool.stdin?.destroy();
    tool.kill('SIGTERM');
  }
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise((resolve) => (timer = setTimeout(resolve, graceMs)));
  const exited = Promise.all(alive.map((tool) => tool.done));
  await Promise.race([exited, grace]);
  clearTimeout(timer);
  for (const tool of alive) tool.kill('SIGKILL');
  await exited;
}

/** What the program said (or why it could not start), with the password masked wherever it appears. */
export function maskedStderr(exit: ToolExit, secret?: string): string {
  return maskSecrets(exit.startError ?? exit.stderr.trim(), [secret]);
}

/** "pg_dump exited with status 1:" and its stderr, with the password masked wherever it appears. */
export function describeExit(name: string, exit: ToolExit, secret?: string): string {
  if (exit.startError) return `${name} could not be started: ${exit.startError}`;
  const how = exit.signal ? `was killed by ${exit.signal}` : `exited with status ${exit.code}`;
  const text = maskedStderr(exit, secret);
  return `${name} ${how}${text ? `:\n${text}` : ''}`;
}

/** A failed exit: not 0, killed, or never started. */
export const failed = (exit: ToolExit) => exit.code !== 0 || !!exit.signal || !!exit.startError;
