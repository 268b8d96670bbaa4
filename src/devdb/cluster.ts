import { chown, mkdir, writeFile, rm, access } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { offlineEnv } from '../pgtools/exec.js';
import { runTool } from '../pgtools/run.js';

/**
 * A PostgreSQL cluster driven through its own initdb and pg_ctl: the embedded
 * development database, and the servers the tests and benchmarks start. The
 * server is detached (pg_ctl), so it outlives the command that started it.
 */
export interface ClusterOptions {
  binDir: string;
  dataDir: string;
  port: number;
  /** Superuser name and password set at initdb. */
  user: string;
  password: string;
  logFile: string;
  /** Extra `-c name=value` settings. */
  settings?: Record<string, string>;
}

const SERVER_USER = 'postgres';

interface RunAs { uid?: number; gid?: number }

/** initdb and postgres refuse to run as root; as root, run them as `postgres` (created when missing). */
async function serverIdentity(): Promise<RunAs> {
  if (userInfo().uid !== 0) return {};
  const id = async (flag: string) => {
    const result = await run('id', [flag, SERVER_USER], {});
    return result.code === 0 ? Number(result.output.trim()) : undefined;
  };
  let uid = await id('-u');
  if (uid === undefined) {
    const added = await run('useradd', ['--system', '--user-group', '--no-create-home', SERVER_USER], {});
    if (added.code !== 0) throw new Error(`useradd ${SERVER_USER} failed: ${added.output.trim()}`);
    uid = await id('-u');
  }
  return { uid, gid: await id('-g') };
}

/** A program of the cluster's, its stdout and stderr as one text; a program that cannot start is an error. */
async function run(file: string, args: string[], as: RunAs, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; output: string }> {
  const command = { file, args, env: { ...offlineEnv(), LC_ALL: 'C', ...env }, cleanup: async () => undefined };
  const result = await runTool(command, { spawnOptions: as });
  if (result.startError) throw new Error(`cannot run ${result.startError}`);
  return { code: result.code ?? 1, output: result.stdout + result.stderr };
}

async function ownedByServer(target: string, as: RunAs): Promise<void> {
  if (as.uid !== undefined) await chown(target, as.uid, as.gid!);
}

export async function clusterExists(dataDir: string): Promise<boolean> {
  return access(path.join(dataDir, 'PG_VERSION')).then(() => true, () => false);
}

export async function initCluster(opts: ClusterOptions): Promise<void> {
  const as = await serverIdentity();
  await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
  // The server's user must reach the data directory and the password file beside it.
  await ownedByServer(path.dirname(opts.dataDir), as);
  await ownedByServer(opts.dataDir, as);
  const pwfile = path.join(path.dirname(opts.dataDir), `.pwfile-${process.pid}`);
  await writeFile(pwfile, `${opts.password}\n`, { mode: 0o600 });
  await ownedByServer(pwfile, as);
  try {
    const result = await run(path.join(opts.binDir, 'initdb'),
      ['-D', opts.dataDir, '-U', opts.user, `--pwfile=${pwfile}`, '-A', 'scram-sha-256', '-E', 'UTF8', '--locale=C'], as);
    if (result.code !== 0) throw new Error(`initdb failed: ${result.output.trim()}`);
  } finally {
    await rm(pwfile, { force: true });
  }
}

export async function startCluster(opts: ClusterOptions): Promise<void> {
  const as = await serverIdentity();
  await writeFile(opts.logFile, '', { flag: 'a', mode: 0o600 });
  await ownedByServer(opts.logFile, as);
  const settings = { listen_addresses: '127.0.0.1', unix_socket_directories: "''", ...opts.settings };
  const serverArgs = [`-p ${opts.port}`, ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`)].join(' ');
  const result = await run(path.join(opts.binDir, 'pg_ctl'), ['-D', opts.dataDir, '-l', opts.logFile, '-o', serverArgs, '-w', '-t', '60', 'start'], as);
  if (result.code !== 0) throw new Error(`pg_ctl start failed: ${result.output.trim()}`);
}

export async function stopCluster(opts: Pick<ClusterOptions, 'binDir' | 'dataDir'>): Promise<boolean> {
  if (!(await clusterRunning(opts))) return false;
  const result = await run(path.join(opts.binDir, 'pg_ctl'), ['-D', opts.dataDir, '-m', 'fast', '-w', 'stop'], await serverIdentity());
  if (result.code !== 0) throw new Error(`pg_ctl stop failed: ${result.output.trim()}`);
  return true;
}

export async function clusterRunning(opts: Pick<ClusterOptions, 'binDir' | 'dataDir'>): Promise<boolean> {
  if (!(await clusterExists(opts.dataDir))) return false;
  const result = await run(path.join(opts.binDir, 'pg_ctl'), ['-D', opts.dataDir, 'status'], await serverIdentity());
  return result.code === 0;
}

export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
