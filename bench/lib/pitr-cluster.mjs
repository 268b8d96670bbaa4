// The archiving cluster of W12: Debian's PostgreSQL (the backup workloads'
// server programs) in a directory of its own, owned and run by `postgres` when
// the harness runs as root, with a Unix socket for pgBackRest. Its data is
// loaded before archiving starts (loading 1 GB through archive-push would
// measure nothing), then tidemark's own `pitr:init --apply`, a restart for
// archive_mode, and `pitr:init` again (pgBackRest's check) set it up: the
// harness writes no pgBackRest configuration of its own.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chown, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { debianBinDir } from './backup-server.mjs';
import { ROOT } from './paths.mjs';
import { startServer } from './server.mjs';
import { run } from './tools.mjs';

export const STANZA = 'bench';

/** The pgbackrest program tidemark would find (PGBACKREST_BIN, then PATH), or undefined. */
export function pgbackrestBin() {
  if (process.env.PGBACKREST_BIN) return existsSync(process.env.PGBACKREST_BIN) ? process.env.PGBACKREST_BIN : undefined;
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), '/usr/bin', '/usr/local/bin'];
  return dirs.map((dir) => path.join(dir, 'pgbackrest')).find((file) => existsSync(file));
}

/** Why W12 cannot run here, or undefined when it can. */
export function pitrUnavailable() {
  if (!pgbackrestBin()) return 'pgbackrest not found; Debian: apt-get install pgbackrest';
  if (!debianBinDir()) return 'no PostgreSQL server under /usr/lib/postgresql/*/bin; Debian: apt-get install postgresql';
  return undefined;
}

export const pgbackrestVersion = () => execFileSync(pgbackrestBin(), ['version'], { encoding: 'utf8' }).trim().replace(/^pgBackRest\s+/, '');

const cli = (name) => path.join(ROOT, 'dist/tasks', `${name}.js`);

/** As root, pgBackRest and the server run as `postgres`: its uid and gid, or undefined for anyone else. */
function serverUser() {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/**
 * A postmaster left running by a harness that stopped early gets a fast
 * shutdown when this process exits (by then its directory may be removed:
 * the process is recognised by its command line, not its pid file).
 */
function stopOnExit(dataDir) {
  const pid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const onExit = () => {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dataDir)) process.kill(pid, 'SIGINT');
    } catch {
      // Already gone.
    }
  };
  process.once('exit', onExit);
  return () => process.off('exit', onExit);
}

/**
 * Starts the cluster in `root`, lets `load(server)` fill it, then sets up
 * archiving into the stanza with tidemark's commands. Resolves with the
 * server handle, tidemark's environment for the pitr commands, and how to
 * run pgBackRest alone with the same configuration.
 */
export async function startPitrCluster(root, { settings, database, load, log }) {
  const binDir = debianBinDir();
  log(`starting PostgreSQL from ${binDir} for W12 (archiving through pgBackRest)`);
  // The socket directory is the cluster's own root, which initdb gives to the server's user.
  const server = await startServer(root, { binDir, settings: { ...settings, unix_socket_directories: root } });
  server.binDir = binDir;
  let forget = stopOnExit(server.opts.dataDir);
  const backupDir = path.join(root, 'backups');
  await mkdir(backupDir, { recursive: true });
  await load(server);
  const env = { BACKUP_DIR: backupDir, PITR_STANZA: STANZA, PG_BIN_DIR: binDir };
  // Every pitr command gets the same DATABASE_URL: each rewrites pgbackrest.conf from its settings.
  const url = () => server.url(database);
  await expectCli('pitr:init --apply', await run(process.execPath, [cli('pitr-init'), '--apply'], url(), env));
  // archive_mode takes effect at a restart only.
  await server.devdb.stopCluster(server.opts);
  forget();
  await server.devdb.startCluster(server.opts);
  forget = stopOnExit(server.opts.dataDir);
  await expectCli('pitr:init (check)', await run(process.execPath, [cli('pitr-init')], url(), env));
  const stop = async () => {
    await server.stop();
    forget();
  };
  return { root, server, env, url: url(), backupDir, pitrDir: path.join(backupDir, 'pitr'), peer: await peerRunner(root, server, path.join(backupDir, 'pitr')), stop };
}

function expectCli(label, result) {
  if (result.code !== 0) throw new Error(`${label} exited with ${result.code}\n${(result.stderr || result.stdout).slice(-2000)}`);
}

/**
 * `pgbackrest OPTIONS COMMAND` alone, with the configuration tidemark wrote,
 * as the user tidemark runs it as; the password from a passfile of that user's.
 */
async function peerRunner(root, server, pitrDir) {
  const user = serverUser();
  const passfile = path.join(root, 'peer.pgpass');
  await writeFile(passfile, `*:*:*:${server.opts.user}:${server.opts.password.replace(/([\\:])/g, '\\$1')}\n`, { mode: 0o600 });
  if (user) await chown(passfile, user.uid, user.gid);
  const config = [`--config=${path.join(pitrDir, 'pgbackrest.conf')}`, `--config-include-path=${path.join(pitrDir, 'conf.d')}`, `--stanza=${STANZA}`];
  if (!existsSync(path.join(pitrDir, 'pgbackrest.conf'))) throw new Error(`pitr:init wrote no pgbackrest.conf in ${pitrDir}`);
  // setpriv switches user without a login session (runuser would open one through PAM).
  const prefix = user ? ['--reuid=postgres', '--regid=postgres', '--init-groups', pgbackrestBin()] : [];
  const file = user ? 'setpriv' : pgbackrestBin();
  return {
    run: (command, options = []) => run(file, [...prefix, ...config, ...options, command], server.url(), { PGPASSFILE: passfile }),
  };
}
