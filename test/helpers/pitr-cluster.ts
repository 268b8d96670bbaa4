/**
 * A private PostgreSQL 15 cluster for the pitr tests: its own initdb, port,
 * socket directory and backup directory, owned by `postgres` when the tests
 * run as root (pgBackRest then runs as that user too), stopped and removed by
 * `destroy()`. Restarting it is allowed: no other test file uses it.
 */
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { waitFor } from './wait.js';
import { findFreePort, initCluster, startCluster, stopCluster, type ClusterOptions } from '../../src/devdb/cluster.js';

export const PG15_BIN = '/usr/lib/postgresql/15/bin';
export const HAVE_PG15 = existsSync(path.join(PG15_BIN, 'initdb'));

export interface PitrCluster {
  root: string;
  dataDir: string;
  port: number;
  url: string;
  password: string;
  backupDir: string;
  /** PITR_RESTORE_TEST_DIR of this cluster's commands. */
  rehearsals: string;
  stanza: string;
  /** The environment of a tidemark command against this cluster. */
  env: Record<string, string>;
  query<T extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /**
   * Writes a row, then switches to a new WAL segment: the name of the segment
   * it closed, which waits to be archived. Without the write, a switch right
   * after another does nothing, and the archiver, after failures, may sleep a
   * minute before it looks again.
   */
  switchWal(): Promise<string>;
  /** Waits until the server archived that segment. */
  archived(wal: string, timeoutMs?: number): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  destroy(): Promise<void>;
}

/** A cluster with archive_mode off (pitr:init --apply turns it on), or already archiving with `archiveCommand`. */
export async function createPitrCluster(label: string, options: { archiveMode?: 'on' | 'off' } = {}): Promise<PitrCluster> {
  const root = mkdtempSync(path.join(tmpdir(), `tidemark-pitr-${label}-`));
  chmodSync(root, 0o755);
  const backupDir = path.join(root, 'backups');
  mkdirSync(backupDir, { mode: 0o755 });
  // Rehearsals of this cluster's restores go here, apart from those of other test files.
  const rehearsals = path.join(root, 'rehearsals');
  mkdirSync(rehearsals, { mode: 0o755 });
  const port = await findFreePort();
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  const opts: ClusterOptions = {
    binDir: PG15_BIN, dataDir: path.join(root, 'data'), port, user: 'postgres', password, logFile: path.join(root, 'postgres.log'),
    // Not archive_mode or archive_command: a `-c` setting would hide what ALTER SYSTEM sets.
    settings: { unix_socket_directories: root, fsync: 'off', full_page_writes: 'off', max_wal_size: '64MB' },
  };
  const destroy = async () => {
    await stopCluster(opts).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  };
  try {
    await initCluster(opts);
    appendFileSync(path.join(opts.dataDir, 'postgresql.conf'), `archive_mode = ${options.archiveMode ?? 'off'}\nwal_level = replica\n`);
    await startCluster(opts);
  } catch (err) {
    await destroy();
    throw err;
  }
  const url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  const stanza = `tm_${label.replace(/[^a-z0-9]/g, '_')}`;
  const cluster: PitrCluster = {
    root, dataDir: opts.dataDir, port, url, password, backupDir, rehearsals, stanza,
    env: { DATABASE_URL: url, BACKUP_DIR: backupDir, PITR_STANZA: stanza, PITR_RESTORE_TEST_DIR: rehearsals },
    async query(sql, params) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return (await client.query(sql, params)).rows;
      } finally {
        await client.end();
      }
    },
    async switchWal() {
      await cluster.query('CREATE TABLE IF NOT EXISTS wal_nudge (at timestamptz); INSERT INTO wal_nudge VALUES (now())');
      return (await cluster.query<{ wal: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS wal'))[0].wal;
    },
    async archived(wal, timeoutMs = 60_000) {
      await waitFor(async () => ((await cluster.query<{ last: string | null }>('SELECT last_archived_wal AS last FROM pg_stat_archiver'))[0].last ?? '') >= wal, `archiving of ${wal}`, timeoutMs);
    },
    start: () => startCluster(opts),
    stop: async () => void (await stopCluster(opts)),
    destroy,
  };
  return cluster;
}

/** The pgBackRest process running `command` for `stanza`, if any (read from /proc: its argv as the system sees it). */
export function pgbackrestProcess(stanza: string, command: string): { pid: number; argv: string[] } | undefined {
  for (const entry of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (argv[0]?.endsWith('pgbackrest') && argv.includes(`--stanza=${stanza}`) && argv.at(-1) === command) return { pid: Number(entry), argv };
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}
