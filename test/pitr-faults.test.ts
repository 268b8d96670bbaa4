/**
 * Faults of physical backups, for real, on a private PostgreSQL 15 cluster:
 * pgBackRest missing or too old, an archive_command that is not ours,
 * archiving that fails while everything else looks fine, and SIGINT during
 * a backup that waits for its WAL. After each: the code and exit status,
 * what the command says is left, and a repository that still works.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { collect, runCli, spawnCli } from './helpers/cli.js';
import { standIn, tempDir } from './helpers/backup.js';
import { createPitrCluster, HAVE_PG15, pgbackrestProcess, type PitrCluster } from './helpers/pitr-cluster.js';
import { waitFor } from './helpers/wait.js';

let cluster: PitrCluster;
beforeAll(async () => {
  if (HAVE_PG15) cluster = await createPitrCluster('faults', { archiveMode: 'on' });
});
afterAll(async () => {
  await cluster?.destroy();
});

const cli = (target: string, args: string[] = [], env: Record<string, string> = {}) => runCli(target, args, { env: { ...cluster.env, ...env } });
const manifests = () => readdirSync(cluster.backupDir).filter((n) => n.endsWith('.pitr.json'));
const archiveDir = () => path.join(cluster.backupDir, 'pitr', 'repo', 'archive', cluster.stanza, '15-1');

/** Makes the WAL archive read-only: archive-push fails, everything that only reads still works. */
function archiveWritable(writable: boolean): void {
  const dirs = [archiveDir(), ...readdirSync(archiveDir()).filter((n) => statSync(path.join(archiveDir(), n)).isDirectory()).map((n) => path.join(archiveDir(), n))];
  for (const dir of dirs) chmodSync(dir, writable ? 0o750 : 0o550);
}

const switchWal = () => cluster.switchWal();

describe.skipIf(!HAVE_PG15)('pitr faults', () => {
  it('pgBackRest missing (PGBACKREST_BIN pointing nowhere) is PGBACKREST_MISSING, with how to install it', async () => {
    const result = await cli('pitr:list', [], { PGBACKREST_BIN: '/nonexistent/pgbackrest' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('PGBACKREST_MISSING: pgBackRest cannot be run');
    expect(result.stderr).toContain('apt-get install pgbackrest');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('pgBackRest older than 2.33 is PGBACKREST_TOO_OLD', async () => {
    const dir = await tempDir('old-pgbackrest');
    const old = await standIn(dir, 'pgbackrest', 'echo "pgBackRest 2.20"\n');
    const result = await cli('pitr:list', ['--json'], { PGBACKREST_BIN: old });
    expect(result.code).toBe(1);
    const { error } = JSON.parse(result.stderr);
    expect(error).toMatchObject({ code: 'PGBACKREST_TOO_OLD', details: { version: '2.20', minimum: '2.33' } });
  });

  it('a stanza pitr:init never made is PITR_NOT_CONFIGURED (exit 2), pointing at pitr:init', async () => {
    const dir = await tempDir('pitr-elsewhere');
    const result = await cli('pitr:list', [], { PITR_STANZA: 'never_made', PITR_DIR: dir, PITR_REPO: path.join(dir, 'repo') });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('PITR_NOT_CONFIGURED: stanza never_made does not exist in the repository');
    expect(result.stderr).toContain('tidemark pitr:init');
  });

  it('pitr:init --apply on a server already archiving needs no restart, and a first backup follows', async () => {
    const init = await cli('pitr:init', ['--apply']);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).not.toContain('RESTART NEEDED');
    expect(init.stdout).toContain('check: pgBackRest pushed a WAL segment');
    const backup = await cli('pitr:backup', ['--type', 'full']);
    expect(backup.code, backup.stderr).toBe(0);
    expect(manifests()).toHaveLength(1);
  });

  it('backup:check fails with PITR_ARCHIVE_STALE when archive_command is not ours, and says what it is', async () => {
    const [{ cmd }] = await cluster.query<{ cmd: string }>("SELECT current_setting('archive_command') AS cmd");
    try {
      await cluster.query("ALTER SYSTEM SET archive_command = 'cp %p /nowhere/%f'");
      await cluster.query('SELECT pg_reload_conf()');
      await waitFor(async () => (await cluster.query<{ cmd: string }>("SELECT current_setting('archive_command') AS cmd"))[0].cmd.startsWith('cp '), 'the reload');
      const result = await cli('backup:check', ['--kind', 'pitr']);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('PITR_ARCHIVE_STALE: WAL archiving has stopped');
      expect(result.stderr).toContain('archive_command does not push into stanza tm_faults');
      expect(result.stderr).toContain('cp %p /nowhere/%f');
    } finally {
      await cluster.query(`ALTER SYSTEM SET archive_command = '${cmd.replace(/'/g, "''")}'`);
      await cluster.query('SELECT pg_reload_conf()');
    }
    await waitFor(async () => (await cluster.query<{ cmd: string }>("SELECT current_setting('archive_command') AS cmd"))[0].cmd === cmd, 'the reload');
    const ok = await cli('backup:check', ['--kind', 'pitr']);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('archiving that fails silently (the repository refuses WAL) makes backup:check fail and say which segment and since when', async () => {
    archiveWritable(false);
    try {
      const wal = await switchWal();
      await waitFor(async () => (await cluster.query<{ wal: string | null }>('SELECT last_failed_wal AS wal FROM pg_stat_archiver'))[0].wal === wal, 'a failed archive attempt', 60_000);
      const result = await cli('backup:check', ['--kind', 'pitr', '--json']);
      expect(result.code).toBe(1);
      const { error } = JSON.parse(result.stderr);
      expect(error.code).toBe('PITR_ARCHIVE_STALE');
      expect(error.error).toContain(`archiving fails: ${wal} failed at`);
      expect(error.details.waiting).toBeGreaterThanOrEqual(1);
    } finally {
      archiveWritable(true);
    }
  });

  // A busy machine can slow archiving's catch-up and the two pgBackRest runs after it: room for them (180 s),
  // so that a slow run fails on its own assertions rather than running on into the next test.
  it.each([['SIGINT', 130], ['SIGTERM', 143]] as const)('%s during a backup stops pgBackRest: INTERRUPTED, exit %i, no manifest, no secret in its argv, and the repository still works', async (signal, status) => {
    archiveWritable(false);
    const before = manifests();
    let child;
    try {
      // The backup cannot finish while its last WAL segment cannot be archived: it waits, and is stopped there.
      child = spawnCli('pitr:backup', ['--type', 'full'], { env: cluster.env });
      const done = collect(child);
      const ended = done.then((r) => Promise.reject(new Error(`pitr:backup ended before the signal: ${r.code} ${r.stderr}`)));
      const running = await Promise.race([waitFor(async () => pgbackrestProcess(cluster.stanza, 'backup'), 'pgbackrest backup to run', 30_000), ended]);
      expect(running.argv.join(' ')).not.toContain(cluster.password);
      expect(running.argv.some((a) => a.startsWith('--config='))).toBe(true);
      const environ = readFileSync(`/proc/${running.pid}/environ`, 'utf8').split('\0');
      expect(environ.some((v) => v.startsWith('PGPASSFILE='))).toBe(true);
      expect(environ.some((v) => v.includes(cluster.password))).toBe(false);
      child.kill(signal);
      const result = await done;
      expect(result.code).toBe(status);
      expect(result.stderr).toContain(`INTERRUPTED: interrupted by ${signal}`);
      expect(result.stderr).toContain('no tidemark manifest was written');
      expect(manifests()).toEqual(before);
      await waitFor(async () => !pgbackrestProcess(cluster.stanza, 'backup'), 'pgbackrest to exit');
    } finally {
      archiveWritable(true);
    }
    // pgBackRest keeps its repository consistent: archiving catches up, the next backup and a verify work.
    const wal = await switchWal();
    await cluster.archived(wal, 120_000);
    const again = await cli('pitr:backup', ['--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(manifests()).toHaveLength(before.length + 1);
    const verify = await cli('pitr:verify');
    expect(verify.code, verify.stderr).toBe(0);
    expect(existsSync(path.join(cluster.backupDir, 'pitr', 'pgbackrest.conf'))).toBe(true);
  }, 180_000);

  it('through PG_CONTAINER (a stand-in docker that runs pgBackRest here): secrets and password by name only; restores refused', async () => {
    const dir = await tempDir('pitr-docker');
    const log = path.join(dir, 'argv.log');
    const asServer = process.getuid?.() === 0 ? 'runuser -u postgres --' : '';
    await standIn(dir, 'docker', `printf '%s ' "$@" >> "${log}"; echo >> "${log}"
echo "PGPASSWORD-present=\${PGPASSWORD:+yes}" >> "${log}"
args=("$@"); args=("\${args[@]:1}")
while [[ "\${args[0]}" == -* ]]; do if [ "\${args[0]}" = -e ] || [ "\${args[0]}" = -u ]; then args=("\${args[@]:2}"); else args=("\${args[@]:1}"); fi; done
args=("\${args[@]:1}")
exec ${asServer} "\${args[@]}"\n`);
    const env = { PG_CONTAINER: 'pg_main', PATH: `${dir}:${process.env.PATH}` };
    const backup = await cli('pitr:backup', ['--type', 'incr', '--json'], env);
    expect(backup.code, backup.stderr).toBe(0);
    expect(JSON.parse(backup.stdout).manifest.type).toBe('incr');
    const argv = readFileSync(log, 'utf8');
    expect(argv).toMatch(/^exec -i -u postgres pg_main pgbackrest version $/m);
    expect(argv).toMatch(new RegExp(`^exec -i -u postgres -e PGPASSWORD pg_main pgbackrest --config=\\S+/pitr/pgbackrest\\.conf --config-include-path=\\S+ --stanza=${cluster.stanza} --type=incr backup $`, 'm'));
    expect(argv).toContain('PGPASSWORD-present=yes');
    expect(argv).not.toContain(cluster.password);
    const restore = await cli('pitr:restore', ['--target-dir', path.join(dir, 'copy')], env);
    expect(restore.code).toBe(2);
    expect(restore.stderr).toContain('CONFIG_INVALID: not through a container');
  });
});
