// How pg is bundled into the commands: unmodified but for one change that
// takes work off every cold start (used by build/build.mjs, and by the
// benchmark's Node.js floor). A change to a dependency is kept only where it
// saves a measured 5 ms or more: one that replaced pg's WebCrypto SCRAM with
// node:crypto saved 2-4 ms of CPU per connection and was dropped.
import { readFileSync } from 'node:fs';

/**
 * pg decides at load time whether it runs in a Cloudflare Worker. Where
 * `navigator` is missing (Node 20) it constructs a `Response`, which makes Node
 * load its whole fetch implementation: about 18 ms of CPU (17 ms of wall time,
 * median) on every command's start that loads pg.
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
