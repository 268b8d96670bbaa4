/**
 * Physical backups through the real pgBackRest, against a private
 * PostgreSQL 15 cluster of this file (archive_mode off at first, so that
 * pitr:init --apply has something to set): init, full/diff/incr backups with
 * their manifests, the list and its recovery window, verify and the restore
 * rehearsal, a restore to a point in time, the restore's refusals, and
 * retention. Faults (archiving broken, signals, damage) are test/pitr-faults.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { runCli, type CliResult } from './helpers/cli.js';
import { createPitrCluster, HAVE_PG15, PG15_BIN, type PitrCluster } from './helpers/pitr-cluster.js';
import { stopCluster } from '../src/devdb/cluster.js';
import { waitFor } from './helpers/wait.js';

let cluster: PitrCluster;
beforeAll(async () => {
  if (HAVE_PG15) cluster = await createPitrCluster('main');
});
afterAll(async () => {
  await cluster?.destroy();
});

const cli = (target: string, args: string[] = [], env: Record<string, string> = {}) => runCli(target, args, { env: { ...cluster.env, ...env } });
const json = <T>(result: CliResult): T => {
  expect(result.stderr).not.toContain('Error:');
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as T;
};
const noSecret = (result: CliResult) => expect(`${result.stdout}${result.stderr}`).not.toContain(cluster.password);

/** Switches to a new WAL segment and waits until the server archived the one it closed. */
async function archiveNow(): Promise<void> {
  await cluster.archived(await cluster.switchWal());
}

describe.skipIf(!HAVE_PG15)('pitr with pgBackRest on a private PostgreSQL 15', () => {
  it('pitr:init prints the archive settings, --apply sets them with ALTER SYSTEM and says a restart is needed, then check passes', async () => {
    const first = await cli('pitr:init');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('archiving: NOT set up');
    expect(first.stdout).toContain("archive_mode = 'on'");
    expect(first.stdout).toMatch(/archive_command = '.*pgbackrest.*--stanza=tm_main archive-push %p'/);
    expect(first.stdout).toContain('check: skipped');

    const applied = await cli('pitr:init', ['--apply']);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('archive settings applied with ALTER SYSTEM');
    expect(applied.stdout).toContain('RESTART NEEDED');
    // PostgreSQL shows archive_command as "(disabled)" while archive_mode is off: ALTER SYSTEM wrote it here.
    expect(readFileSync(path.join(cluster.dataDir, 'postgresql.auto.conf'), 'utf8')).toMatch(/archive_command = '.*archive-push %p'/);

    await cluster.stop();
    await cluster.start();
    const ready = json<{ checked: boolean; archive: { ok: boolean }; stanza: string }>(await cli('pitr:init', ['--json']));
    expect(ready).toMatchObject({ checked: true, archive: { ok: true }, stanza: 'tm_main' });
    const conf = readFileSync(path.join(cluster.backupDir, 'pitr', 'pgbackrest.conf'), 'utf8');
    expect(conf).toContain(`pg1-path=${cluster.dataDir}`);
    expect(conf).not.toContain(cluster.password);
    noSecret(applied);
  });

  it('pitr:backup takes a full, a diff and an incr backup and records a manifest of each beside the logical backups', async () => {
    await cluster.query('CREATE TABLE events (id int PRIMARY KEY, note text)');
    const types: string[] = [];
    for (const type of ['full', 'diff', 'incr']) {
      await cluster.query(`INSERT INTO events SELECT g, '${type}' FROM generate_series(${types.length * 100 + 1}, ${types.length * 100 + 100}) g`);
      const result = await cli('pitr:backup', ['--type', type, '--json', ...(type === 'full' ? ['--tag', 'pin:first'] : [])]);
      const made = json<{ manifest: { type: string; label: string; stopLsn: string; size: number; pinned: boolean }; path: string }>(result);
      expect(made.manifest.type).toBe(type);
      expect(made.manifest.stopLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
      expect(made.manifest.size).toBeGreaterThan(1_000_000);
      expect(made.manifest.pinned).toBe(type === 'full');
      expect(JSON.parse(readFileSync(made.path, 'utf8')).label).toBe(made.manifest.label);
      expect(path.dirname(made.path)).toBe(cluster.backupDir);
      noSecret(result);
      types.push(type);
    }
    // The logical commands leave the physical manifests alone.
    const logical = await runCli('backup:list', ['--json'], { env: { BACKUP_DIR: cluster.backupDir } });
    expect(JSON.parse(logical.stdout)).toEqual([]);
  });

  it('pitr:list shows the three backups and the recovery window, as text and --json', async () => {
    await archiveNow();
    const list = json<{ backups: Array<{ type: string; label: string; manifest: boolean; tag?: string }>; window: { earliest: { time: string; backup: string }; latest: { wal: string; time: string } } }>(await cli('pitr:list', ['--json']));
    expect(list.backups.map((b) => b.type)).toEqual(['full', 'diff', 'incr']);
    expect(list.backups.every((b) => b.manifest)).toBe(true);
    expect(list.backups[0].tag).toBe('pin:first');
    expect(list.window.earliest.backup).toBe(list.backups[0].label);
    expect(Date.parse(list.window.latest.time)).toBeGreaterThanOrEqual(Date.parse(list.window.earliest.time));
    expect(list.window.latest.wal).toMatch(/^[0-9A-F]{24}$/);
    const text = await cli('pitr:list');
    expect(text.stdout).toMatch(/LABEL\s+TYPE/);
    expect(text.stdout).toContain('Recovery window: from ');
  });

  it('pitr:verify reads the repository back, and --restore-test rehearses a restore in a scratch directory it removes', async () => {
    const plain = await cli('pitr:verify');
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toContain('3 backup(s)');
    const rehearsal = json<{ restoreTest: { tables: number; port: number; removed: boolean; backup: string } }>(await cli('pitr:verify', ['--restore-test', '--json']));
    expect(rehearsal.restoreTest.tables).toBeGreaterThanOrEqual(1);
    expect(rehearsal.restoreTest.port).not.toBe(cluster.port);
    expect(rehearsal.restoreTest.removed).toBe(true);
    expect(readdirSync(cluster.rehearsals)).toEqual([]);
  });

  it('pitr:restore --to TIME --start recovers exactly to before a later change, in a new directory', async () => {
    await cluster.query("INSERT INTO events VALUES (1001, 'A')");
    const [{ t }] = await cluster.query<{ t: Date }>('SELECT clock_timestamp() AS t');
    await waitFor(async () => (await cluster.query<{ now: Date }>('SELECT clock_timestamp() AS now'))[0].now.getTime() > t.getTime() + 5, 'the clock to move past T');
    await cluster.query("INSERT INTO events VALUES (1002, 'B')");
    await archiveNow();
    const target = path.join(cluster.root, 'restored');
    const result = await cli('pitr:restore', ['--to', t.toISOString(), '--target-dir', target, '--start', '--json']);
    const restored = json<{ dataDir: string; started: { port: number; recovered: boolean }; target: { type: string } }>(result);
    try {
      expect(restored).toMatchObject({ dataDir: target, target: { type: 'time' }, started: { recovered: true } });
      const client = new pg.Client({ connectionString: cluster.url.replace(`:${cluster.port}/`, `:${restored.started.port}/`) });
      await client.connect();
      const { rows } = await client.query<{ note: string }>('SELECT note FROM events WHERE id > 1000 ORDER BY id');
      await client.end();
      expect(rows.map((r) => r.note)).toEqual(['A']);
      expect(readFileSync(path.join(target, 'postgresql.auto.conf'), 'utf8')).toMatch(/archive_mode = 'off'/);
    } finally {
      await stopCluster({ binDir: PG15_BIN, dataDir: target });
      await rm(target, { recursive: true, force: true });
    }
  });

  it('pitr:restore refuses a non-empty target directory and a restore in place without --yes or with the server running', async () => {
    const busy = path.join(cluster.root, 'busy');
    mkdirSync(busy);
    writeFileSync(path.join(busy, 'keep.txt'), 'mine');
    const refused = await cli('pitr:restore', ['--target-dir', busy]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('PITR_TARGET_NOT_EMPTY');
    expect(readdirSync(busy)).toEqual(['keep.txt']);

    const own = await cli('pitr:restore', ['--target-dir', cluster.dataDir]);
    expect(own.code).toBe(1);
    expect(own.stderr).toContain("PITR_TARGET_NOT_EMPTY: that is the server's data directory");

    const unconfirmed = await cli('pitr:restore', ['--in-place']);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain('CONFIRMATION_REQUIRED');
    const running = await cli('pitr:restore', ['--in-place', '--yes']);
    expect(running.code).toBe(1);
    expect(running.stderr).toContain('PITR_SERVER_RUNNING');
    expect((await cluster.query('SELECT 1 AS one'))[0]).toEqual({ one: 1 });

    const question = await cli('pitr:restore', ['--in-place'], { TIDEMARK_CONFIRM: 'question' });
    expect(question.stdout).toContain('Restore the cluster in place?');
    const none = await cli('pitr:restore', ['--target-dir', busy], { TIDEMARK_CONFIRM: 'question' });
    expect(none.stdout).toBe('');
  });

  it('pitr:prune --dry-run says what goes, then expires the old full backup with what depends on it', async () => {
    const before = json<{ backups: Array<{ label: string }> }>(await cli('pitr:list', ['--json'])).backups.map((b) => b.label);
    json(await cli('pitr:backup', ['--type', 'full', '--json']));
    const dry = json<{ dryRun: boolean; expired: string[]; kept: Array<{ label: string }> }>(await cli('pitr:prune', ['--keep-full', '1', '--dry-run', '--json']));
    expect(dry.dryRun).toBe(true);
    expect(dry.expired).toEqual(before);
    expect(json<{ backups: unknown[] }>(await cli('pitr:list', ['--json'])).backups).toHaveLength(4);
    const real = json<{ expired: string[]; kept: Array<{ label: string }> }>(await cli('pitr:prune', ['--keep-full', '1', '--json']));
    expect(real.expired).toEqual(before);
    const after = json<{ backups: Array<{ label: string; type: string }> }>(await cli('pitr:list', ['--json'])).backups;
    expect(after.map((b) => b.type)).toEqual(['full']);
    expect(readdirSync(cluster.backupDir).filter((n) => n.endsWith('.pitr.json'))).toEqual([`tm_main_${after[0].label}.pitr.json`]);
  });

  it('pitr:prune by GFS rules keeps the newest full of the day and expires the rest', async () => {
    json(await cli('pitr:backup', ['--type', 'full', '--json']));
    const labels = json<{ backups: Array<{ label: string }> }>(await cli('pitr:list', ['--json'])).backups.map((b) => b.label);
    expect(labels).toHaveLength(2);
    const result = json<{ expired: string[]; kept: Array<{ label: string; reasons: string[] }> }>(await cli('pitr:prune', ['--keep-daily', '1', '--keep-weekly', '0', '--keep-monthly', '0', '--json']));
    expect(result.expired).toEqual([labels[0]]);
    expect(result.kept).toEqual([{ label: labels[1], reasons: ['daily'] }]);
  });

  it('pitr:restore --in-place --yes, with the server stopped, brings the cluster back to the end of the archive', async () => {
    await cluster.query("INSERT INTO events VALUES (1003, 'C')");
    await archiveNow();
    await cluster.stop();
    try {
      const result = await cli('pitr:restore', ['--in-place', '--yes', '--json']);
      expect(json<{ inPlace: boolean; dataDir: string }>(result)).toMatchObject({ inPlace: true, dataDir: cluster.dataDir });
    } finally {
      await cluster.start();
    }
    await waitFor(async () => !(await cluster.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r'))[0].r, 'the end of recovery', 60_000);
    const rows = await cluster.query<{ note: string }>('SELECT note FROM events WHERE id > 1000 ORDER BY id');
    expect(rows.map((r) => r.note)).toEqual(['A', 'B', 'C']);
  });

  it('backup:check --kind pitr passes with a fresh backup and archiving at work (on the new timeline too)', async () => {
    await archiveNow();
    const result = await cli('backup:check', ['--kind', 'pitr']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/OK: physical full backup \S+ is 0\.\dh old/);
    // By default each kind the project has: here physical backups only, no dump.
    const auto = await cli('backup:check');
    expect(auto.code, auto.stderr).toBe(0);
    expect(auto.stdout).toBe(result.stdout);
    const both = await cli('backup:check', ['--kind', 'all']);
    expect(both.code).toBe(1);
    expect(both.stderr).toContain('BACKUP_STALE: no verified backup');
  });

  it('pitr:verify fails with a coded error once a file of the repository is damaged', async () => {
    const backupRoot = path.join(cluster.backupDir, 'pitr', 'repo', 'backup', 'tm_main');
    const label = readdirSync(backupRoot).filter((n) => /F$/.test(n)).sort().at(-1)!;
    const file = path.join(backupRoot, label, 'pg_data', 'PG_VERSION.gz');
    expect(existsSync(file)).toBe(true);
    writeFileSync(file, 'damaged');
    const result = await cli('pitr:verify', ['--restore-test']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('PITR_VERIFY_FAILED');
    expect(result.stderr).toMatch(/checksum invalid: 1/);
  });
});
