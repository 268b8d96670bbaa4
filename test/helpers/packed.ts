import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './cli.js';

export interface PackList {
  /** Paths inside the package, as npm lists them. */
  files: string[];
  size: number;
  unpackedSize: number;
}

/**
 * What `npm pack` would put in the tarball of this checkout, from its dist/ as
 * the test run built it. --ignore-scripts: the prepack script would rebuild
 * dist/ under the other test files' feet.
 */
export async function packList(): Promise<PackList> {
  const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, maxBuffer: 16 << 20 });
  const [pack] = JSON.parse(stdout.slice(stdout.indexOf('['))) as { files: { path: string }[]; size: number; unpackedSize: number }[];
  return { files: pack.files.map((f) => f.path).sort(), size: pack.size, unpackedSize: pack.unpackedSize };
}

export interface InstalledCopy {
  /** The app's directory, with node_modules/tidemark in it. */
  app: string;
  /** node_modules/tidemark: a copy of the packed files. */
  pkg: string;
  /** The package's bin script. */
  bin: string;
}

/**
 * The package laid out as an app's install has it: the packed files copied to
 * APP/node_modules/tidemark, beside links to the packages of this checkout's
 * node_modules, less the `without` packages (and their @scope directories of
 * platform binaries). No npm install: the same layout, from what is here.
 */
export async function installedCopy(without: string[] = []): Promise<InstalledCopy> {
  const app = await mkdtemp(path.join(tmpdir(), 'tidemark-installed-'));
  const nodeModules = path.join(app, 'node_modules');
  const pkg = path.join(nodeModules, 'tidemark');
  for (const file of (await packList()).files) {
    await mkdir(path.dirname(path.join(pkg, file)), { recursive: true });
    await copyFile(path.join(ROOT, file), path.join(pkg, file));
  }
  const skipped = new Set(['tidemark', ...without, ...without.map((name) => `@${name}`)]);
  for (const entry of await readdir(path.join(ROOT, 'node_modules'))) {
    if (entry.startsWith('.') || skipped.has(entry)) continue;
    await symlink(path.join(ROOT, 'node_modules', entry), path.join(nodeModules, entry));
  }
  return { app, pkg, bin: path.join(pkg, 'bin', 'tidemark.js') };
}
