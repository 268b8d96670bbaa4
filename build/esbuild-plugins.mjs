// How pg is bundled into the commands: two substitutions that take work off
// every cold start (used by build/build.mjs, and by the benchmark's Node.js floor).
import { readFileSync } from 'node:fs';

/**
 * pg decides at load time whether it runs in a Cloudflare Worker. Where
 * `navigator` is missing (Node 20) it constructs a `Response`, which makes Node
 * load its whole fetch implementation: about 15 ms on every command's start.
 * tidemark runs on Node only, so inside that one module `Response` is shadowed.
 */
export const skipCloudflareProbe = {
  name: 'pg-skip-cloudflare-probe',
  setup(b) {
    b.onLoad({ filter: /[\\/]pg[\\/]lib[\\/]stream\.js$/ }, (args) => ({
      contents: `${readFileSync(args.path, 'utf8')}\n// tidemark: no Cloudflare probe through the global Response on Node.\nvar Response;\n`,
      loader: 'js',
    }));
  },
};

/**
 * pg computes SCRAM through WebCrypto: a dozen asynchronous calls through the
 * thread pool, and WebCrypto's own start-up, on every connection. The same
 * arithmetic through node:crypto's synchronous functions (one PBKDF2 of 4096
 * rounds is under a millisecond) connects about 2 ms sooner from a cold start.
 * The module keeps pg's interface: the same functions, returning promises.
 */
export const nodeCryptoForScram = {
  name: 'pg-scram-through-node-crypto',
  setup(b) {
    b.onLoad({ filter: /[\\/]pg[\\/]lib[\\/]crypto[\\/]utils\.js$/ }, () => ({ contents: readFileSync(new URL('./pg-crypto-utils.cjs', import.meta.url), 'utf8'), loader: 'js' }));
  },
};
