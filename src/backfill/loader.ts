/**
 * Finds backfill modules in the backfills directory and loads them. Our own
 * code ships compiled; a user's TypeScript backfill is compiled here, on
 * demand, by esbuild (loaded only for it) into a module beside the source, so
 * that its imports resolve as they would from the source itself.
 */
import { randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { TidemarkError, describeCause, isTidemarkError } from '../errors.js';
import { asBackfill, type Backfill } from './contract.js';
import { OPTIONAL_PACKAGES, dependencyMissingError, importExternal, isPackageMissing } from '../import-external.js';

const EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'];
const NAME = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?$/;

export interface BackfillFile {
  name: string;
  file: string;
}

/** The backfill files in a directory, by name; none when it does not exist. */
export async function listBackfillFiles(dir: string): Promise<BackfillFile[]> {
  const entries = await readdir(dir).catch((err) => (err.code === 'ENOENT' ? [] : Promise.reject(err)));
  return entries
    .filter((entry) => !entry.startsWith('.') && !/\.d\.m?ts$/.test(entry) && EXTENSIONS.includes(path.extname(entry)))
    .map((entry) => ({ name: entry.slice(0, -path.extname(entry).length), file: path.join(dir, entry) }))
    .filter((f) => NAME.test(f.name) && !f.name.includes('..'))
    .sort((a, b) => a.name.localeCompare(b.name) || a.file.localeCompare(b.file));
}

async function findBackfillFile(dir: string, name: string): Promise<string> {
  const operation = `find backfill ${name}`;
  const files = NAME.test(name) && !name.includes('..') ? await listBackfillFiles(dir) : [];
  const matches = files.filter((f) => f.name === name);
  if (matches.length > 1) {
    throw new TidemarkError('BACKFILL_INVALID', 'two files for one backfill', {
      operation, cause: `${matches.map((m) => path.basename(m.file)).join(' and ')} both name backfill ${name}`, hint: 'keep one of them',
    });
  }
  if (matches.length) return matches[0].file;
  const known = [...new Set(files.map((f) => f.name))];
  throw new TidemarkError('BACKFILL_NOT_FOUND', 'no such backfill', {
    operation,
    cause: `no ${name}.ts (nor .mts, .js, .mjs) in ${dir}`,
    hint: known.length ? `one of: ${known.join(', ')} (task backfill:list)` : 'create one with `task backfill:create -- NAME`, or point BACKFILLS_DIR (--backfills-dir) at yours',
  });
}

function describeBuildError(err: unknown): string {
  const errors = (err as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }).errors;
  if (!errors?.length) return describeCause(err);
  return errors.map((e) => (e.location ? `${e.location.file}:${e.location.line}:${e.location.column + 1}: ${e.text}` : e.text)).join('\n');
}

/** esbuild is an optional peer dependency: an app that writes its backfills as .mjs need not install it. */
async function loadEsbuild(): Promise<typeof import('esbuild')> {
  try {
    return await importExternal<typeof import('esbuild')>('esbuild');
  } catch (err) {
    const operation = 'load esbuild to compile a TypeScript backfill';
    if (isPackageMissing(err, 'esbuild')) throw dependencyMissingError('esbuild', operation, err, { alternative: 'write the backfill as .mjs' });
    throw new TidemarkError('BACKFILL_FAILED', 'cannot load esbuild to compile a TypeScript backfill', {
      operation, cause: describeCause(err), hint: `reinstall it (npm install -D esbuild@${OPTIONAL_PACKAGES.esbuild.range}), or write the backfill as .mjs`,
    }, { cause: err });
  }
}

async function importTypeScript(file: string): Promise<Record<string, unknown>> {
  const { build } = await loadEsbuild();
  const compiled = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}-${randomBytes(4).toString('hex')}.mjs`);
  try {
    await build({ entryPoints: [file], outfile: compiled, bundle: true, packages: 'external', format: 'esm', platform: 'node', target: 'node20', logLevel: 'silent' });
    return await importExternal<Record<string, unknown>>(pathToFileURL(compiled).href);
  } finally {
    await rm(compiled, { force: true });
  }
}

/** Imports a backfill module: `.ts`/`.mts` compiled first, `.js`/`.mjs` as they are. */
export async function importBackfill(file: string, name: string): Promise<Backfill> {
  let exports: Record<string, unknown>;
  try {
    exports = /\.m?js$/.test(file) ? await importExternal<Record<string, unknown>>(pathToFileURL(file).href) : await importTypeScript(file);
  } catch (err) {
    if (isTidemarkError(err)) throw err;
    throw new TidemarkError('BACKFILL_INVALID', 'cannot load the backfill', {
      operation: `load backfill ${name} (${file})`,
      cause: describeBuildError(err),
      hint: 'fix the module so that it compiles and imports without error',
    }, { cause: err });
  }
  return asBackfill(exports, name, file);
}

/** Finds and loads the backfill `name` from `dir`. */
export async function loadBackfill(dir: string, name: string): Promise<Backfill> {
  return importBackfill(await findBackfillFile(dir, name), name);
}
