/** What a backup directory may hold after a trial: complete backups with matching manifests, and nothing half-done. */
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';

export interface DirState {
  /** Backups under a final name, each with a manifest whose size and SHA-256 match. */
  complete: string[];
  /** Those of them whose manifest records a verification. */
  verified: string[];
  partials: string[];
  locks: string[];
  problems: string[];
}

const FINAL = /^[A-Za-z0-9._-]+_\d{8}_\d{6}(_\d+)?\.dump$/;

async function readManifest(dir: string, name: string): Promise<{ size?: number; sha256?: string; verified?: unknown } | undefined> {
  return readFile(path.join(dir, `${name}.manifest.json`), 'utf8').then((t) => JSON.parse(t), () => undefined);
}

async function manifestProblems(dir: string, name: string): Promise<string[]> {
  const manifest = await readManifest(dir, name);
  if (!manifest) return [`${name} has no readable manifest`];
  const bytes = await readFile(path.join(dir, name));
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const problems: string[] = [];
  if (manifest.size !== bytes.length) problems.push(`${name} is ${bytes.length} bytes, its manifest says ${manifest.size}`);
  if (manifest.sha256 !== sha256) problems.push(`${name}'s SHA-256 does not match its manifest`);
  return problems;
}

export async function readBackupDir(dir: string): Promise<DirState> {
  const names = await readdir(dir);
  const state: DirState = { complete: [], verified: [], partials: [], locks: [], problems: [] };
  for (const name of names) {
    if (/\.partial-\d+$/.test(name)) state.partials.push(name);
    else if (name.endsWith('.backup.lock')) state.locks.push(name);
    else if (FINAL.test(name)) {
      const problems = await manifestProblems(dir, name);
      state.problems.push(...problems);
      if (!problems.length) state.complete.push(name);
      if (!problems.length && (await readManifest(dir, name))?.verified) state.verified.push(name);
    } else if (name.endsWith('.manifest.json') && !names.includes(name.slice(0, -'.manifest.json'.length))) {
      state.problems.push(`manifest ${name} without its backup`);
    }
  }
  return state;
}
