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
