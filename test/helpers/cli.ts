import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  input?: string;
}

/** Spawns a compiled task script (`migrate:status` → dist/tasks/migrate-status.js). */
export function spawnCli(target: string, args: string[], options: CliOptions = {}): ChildProcess {
  const script = path.join(ROOT, 'dist', 'tasks', `${target.replace(':', '-')}.js`);
  const env: Record<string, string | undefined> = { ...process.env, DATABASE_URL: undefined, TIDEMARK_EMBEDDED: undefined, ...options.env };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  return spawn(process.execPath, [script, ...args], { cwd: options.cwd ?? ROOT, env: env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] });
}

export function collect(child: ChildProcess, input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin!.end(input ?? '');
  });
}

export function runCli(target: string, args: string[] = [], options: CliOptions = {}): Promise<CliResult> {
  return collect(spawnCli(target, args, options), options.input);
}
