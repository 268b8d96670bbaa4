import { mkdtemp, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A migrations directory with the given files, in a temporary project directory. */
export async function migrationsDir(files: Record<string, string>): Promise<{ project: string; dir: string }> {
  const project = await mkdtemp(path.join(tmpdir(), 'tidemark-project-'));
  const dir = path.join(project, 'migrations');
  await mkdir(dir);
  await Promise.all(Object.entries(files).map(([name, sql]) => writeFile(path.join(dir, name), sql)));
  return { project, dir };
}

export const DEMO_DIR = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../migrations');
