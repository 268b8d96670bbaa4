// The second server, for the pg_dump/pg_restore workloads: the newest Debian
// PostgreSQL installed under /usr/lib/postgresql/*/bin (its pg_dump cannot dump
// the embedded PostgreSQL 18 when it is older), driven by the same cluster
// helpers with PostgreSQL's default durability settings. Started on first use
// only, so runs that select no such workload never start it.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { startServer } from './server.mjs';

const BASE = '/usr/lib/postgresql';
const CLIENTS = ['pg_dump', 'pg_restore', 'createdb'];

/** The bin directory of the newest Debian PostgreSQL with a server (initdb) and pg_dump/pg_restore, or undefined. */
export function debianBinDir() {
  if (!existsSync(BASE)) return undefined;
  const majors = readdirSync(BASE)
    .filter((d) => /^\d+$/.test(d) && ['initdb', ...CLIENTS].every((tool) => existsSync(path.join(BASE, d, 'bin', tool))))
    .sort((a, b) => Number(b) - Number(a));
  return majors.length ? path.join(BASE, majors[0], 'bin') : undefined;
}

/** "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)" → "15.18 (Debian 15.18-0+deb12u1)". */
function clientVersion(binDir, tool) {
  const out = execFileSync(path.join(binDir, tool), ['--version'], { encoding: 'utf8' }).trim();
  return out.replace(/^\S+ \(PostgreSQL\) /, '');
}

/**
 * A lazily started server: `get()` starts it once (in `root`) and resolves with
 * the server handle, which also carries `binDir` (server and client tools).
 */
export function backupServer(root, log, settings) {
  let started;
  return {
    get() {
      started ??= (async () => {
        const binDir = debianBinDir();
        if (!binDir) {
          throw new Error(`the backup workloads need a PostgreSQL server and its pg_dump/pg_restore under ${BASE}/*/bin (Debian: apt-get install postgresql)`);
        }
        log(`starting PostgreSQL from ${binDir} for the backup workloads`);
        const server = await startServer(root, { binDir, settings });
        server.binDir = binDir;
        server.clientVersions = Object.fromEntries(CLIENTS.map((tool) => [tool, clientVersion(binDir, tool)]));
        return server;
      })();
      return started;
    },
    /** Rows for the report's versions table, once it was started. */
    async versions() {
      const server = started && (await started.catch(() => undefined));
      if (!server) return {};
      return {
        'PostgreSQL server (W4, W5)': `${server.version} (${server.binDir})`,
        ...Object.fromEntries(Object.entries(server.clientVersions).map(([tool, v]) => [`${tool} (W4, W5)`, v])),
      };
    },
    async method() {
      const server = started && (await started.catch(() => undefined));
      if (!server) return [];
      return [`The backup workloads (W4, W5) run against a second server, PostgreSQL ${server.version} from \`${server.binDir}\`, started by the harness in the same way (default durability settings, TCP to 127.0.0.1), because the local pg_dump and pg_restore (${server.clientVersions.pg_dump}) cannot dump a server of a newer major version; every contender uses the client programs of that directory.`];
    },
    async stop() {
      const server = started && (await started.catch(() => undefined));
      await server?.stop();
    },
  };
}
