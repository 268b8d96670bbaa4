import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { ROOT } from '../helpers/cli.js';
import { debianBinDir, embeddedServer, startTestServer, type TestServer } from './servers.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pg18Url: string;
    /** A server whose major version the local pg_dump/pg_restore support. */
    pgToolsUrl: string;
    pgToolsBinDir: string;
  }
}

let servers: TestServer[] = [];
let runTmp: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  // The tests run the compiled commands: build them from the sources under test, never a stale dist/.
  execFileSync(process.execPath, ['build/build.mjs', '--no-types'], { cwd: ROOT, stdio: 'inherit' });
  // Everything the tests and the commands they run put in the temporary directory lives in one
  // directory of this run (the test files inherit TMPDIR), removed at the end. Servers run as
  // `postgres` under it, so others may traverse it.
  runTmp = mkdtempSync(path.join(tmpdir(), 'tidemark-test-run-'));
  chmodSync(runTmp, 0o755);
  process.env.TMPDIR = runTmp;
  // The commands' code cache too, rather than the user's ~/.cache (tests that check the default location unset it).
  process.env.TIDEMARK_CODE_CACHE_DIR = path.join(runTmp, 'code-cache');
  const binDir = debianBinDir();
  if (!binDir) throw new Error('no PostgreSQL server and client tools under /usr/lib/postgresql/*/bin: install Debian\'s postgresql package (.ci/run does)');
  const [pg18, tools] = await Promise.all([process.env.TEST_DATABASE_URL ? undefined : embeddedServer(), startTestServer(binDir, 'pgtools')]);
  servers.push(...[pg18, tools].filter((s): s is TestServer => !!s));
  project.provide('pg18Url', process.env.TEST_DATABASE_URL ?? pg18!.url);
  project.provide('pgToolsUrl', tools.url);
  project.provide('pgToolsBinDir', binDir);
}

export async function teardown(): Promise<void> {
  await Promise.all(servers.map((s) => s.stop()));
  servers = [];
  try {
    if (runTmp) rmSync(runTmp, { recursive: true, force: true });
  } catch {
    // A file system still mounted below it (a test that failed to unmount) keeps it; it says so by being there.
  }
}
