// tidemark's own helpers that the harness reuses (the cluster driver, the
// embedded binaries' location, the client-tool locator), compiled once from
// src/ with esbuild into bench/work/.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, WORK } from './paths.mjs';

const ENTRY = `
export { initCluster, startCluster, stopCluster, findFreePort } from './src/devdb/cluster.ts';
export { embeddedBinDir } from './src/devdb/index.ts';
export { findTools } from './src/pgtools/locate.ts';
`;

let loaded;

export function internals() {
  loaded ??= (async () => {
    const outfile = path.join(WORK, `internals-${process.pid}.mjs`);
    await build({
      stdin: { contents: ENTRY, resolveDir: ROOT, loader: 'ts' },
      outfile,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      logLevel: 'warning',
    });
    try {
      return await import(pathToFileURL(outfile).href);
    } finally {
      rmSync(outfile, { force: true });
    }
  })();
  return loaded;
}
