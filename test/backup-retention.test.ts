import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { TestDatabase } from './helpers/db.js';
import { backupCli, seededDatabase, tempDir } from './helpers/backup.js';
import { applyRetention, isoWeekKey } from '../src/backup/retention.js';

const day = (iso: string) => new Date(`${iso}T02:00:00Z`);

describe('retention (pure)', () => {
  it('ISO weeks', () => {
    expect(isoWeekKey(day('2026-11-23'))).toBe('2026-W48');
    expect(isoWeekKey(day('2026-11-22'))).toBe('2026-W47');
    expect(isoWeekKey(day('2027-01-01'))).toBe('2026-W53');
    expect(isoWeekKey(day('2025-12-29'))).toBe('2026-W01');
  });
  it('keep-last, pinned and newest verified', () => {
    const c = (id: string, pinned = false, verified = false) => ({ id, startedAt: day(id), pinned, verified });
    const decisions = applyRetention([c('2026-01-01', true), c('2026-01-02', false, true), c('2026-01-03'), c('2026-01-04')], { keepLast: 1, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 });
    expect(Object.fromEntries(decisions)).toEqual({ '2026-01-04': ['last'], '2026-01-03': [], '2026-01-02': ['newest-verified'], '2026-01-01': ['pinned'] });
  });
});

/** A year of nightly backups, described by manifests with recorded timestamps; file times are all "now". */
async function yearOfBackups(dir: string): Promise<string[]> {
  const names: string[] = [];
  for (let t = Date.parse('2025-11-24T02:00:00Z'); t <= Date.parse('2026-11-23T02:00:00Z'); t += 86_400_000) {
    const started = new Date(t);
    const iso = started.toISOString().slice(0, 10);
    const file = `app_${iso.replace(/-/g, '')}_020000.dump`;
    const tag = iso === '2026-01-15' ? 'pin:year-end' : iso === '2025-12-01' ? 'pre-deploy:v2' : undefined;
    const verified = iso === '2026-03-10' || iso === '2025-12-20' ? { at: started.toISOString(), method: 'full-read' } : undefined;
    await writeFile(path.join(dir, file), 'PGDMP');
    await writeFile(path.join(dir, `${file}.manifest.json`), JSON.stringify({
      tool: 'tidemark', manifestVersion: 1, file, database: 'app', kind: 'full', format: 'custom', serverVersion: '15.18', pgDumpVersion: '15.18',
      startedAt: started.toISOString(), finishedAt: started.toISOString(), durationMs: 1, size: 5, sha256: 'x', pinned: !!tag, ...(tag && { tag }),
      schemaVersion: null, ...(verified && { verified }), ranOn: 'locally',
    }));
    names.push(file);
  }
  await writeFile(path.join(dir, 'app_old_by_cron.dump'), 'PGDMP');
  const now = new Date();
  for (const f of await readdir(dir)) await utimes(path.join(dir, f), now, now);
  return names;
}

const dumpOf = (iso: string) => `app_${iso.replace(/-/g, '')}_020000.dump`;

describe('backup:prune', () => {
  it('keeps exactly the right set of a year of backups, by recorded timestamps', async () => {
    const dir = await tempDir('prune');
    const all = await yearOfBackups(dir);
    expect(all).toHaveLength(365);
    const expectedKept = [
      ...['17', '18', '19', '20', '21', '22', '23'].map((d) => `2026-11-${d}`), // daily 7
      '2026-11-15', '2026-11-08', // weekly 4: W48 (11-23), W47 (11-22), W46, W45
      '2026-10-31', '2026-09-30', '2026-08-31', '2026-07-31', '2026-06-30', // monthly 6: Nov (11-23) and five before
      '2026-01-15', '2025-12-01', // pinned
      '2026-03-10', // newest verified
    ].map(dumpOf).sort();
    const dry = await backupCli('backup:prune', ['--dry-run', '--json'], undefined, dir);
    expect(dry.code, dry.stderr).toBe(0);
    const plan = JSON.parse(dry.stdout);
    expect(plan.kept.map((k: any) => k.file).sort()).toEqual(expectedKept);
    expect(plan.deleted).toHaveLength(365 - expectedKept.length);
    expect(plan.ignored).toEqual(['app_old_by_cron.dump']);
    expect(await readdir(dir)).toHaveLength(365 * 2 + 1);
    const real = await backupCli('backup:prune', [], undefined, dir);
    expect(real.code, real.stderr).toBe(0);
    expect(real.stdout).toContain(`Deleted ${365 - expectedKept.length}, kept ${expectedKept.length}.`);
    const left = (await readdir(dir)).sort();
    expect(left.filter((f) => f.endsWith('.dump'))).toEqual([...expectedKept, 'app_old_by_cron.dump'].sort());
    expect(left.filter((f) => f.endsWith('.manifest.json'))).toHaveLength(expectedKept.length);
  });
});

describe('backup:list, backup:check, tags and --prune', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await seededDatabase('catalog');
  });
  afterAll(() => db.close());

  it('lists backups with their facts, checks freshness, pins by tag, prunes after a backup', async () => {
    const dir = await tempDir('catalog');
    await writeFile(path.join(dir, 'legacy_20240101.sql.gz'), 'x');
    expect((await backupCli('backup:check', [], db, dir)).stderr).toMatch(/^BACKUP_STALE: no verified backup/);
    const pinned = await backupCli('backup:create', ['--tag', 'pre-deploy:v1.2.3', '--json'], db, dir);
    expect(JSON.parse(pinned.stdout).manifest).toMatchObject({ tag: 'pre-deploy:v1.2.3', pinned: true });
    const list = await backupCli('backup:list', [], db, dir);
    expect(list.stdout).toMatch(/^FILE +KIND +SIZE +AGE +SERVER +PG_DUMP +SCHEMA +TAG +VERIFIED/);
    expect(list.stdout).toMatch(/full\/custom .* 42 +pre-deploy:v1\.2\.3 \(pinned\) +yes/);
    expect(list.stdout).toMatch(/legacy_20240101\.sql\.gz +unknown .* not tidemark/);
    const json = JSON.parse((await backupCli('backup:list', ['--json'], db, dir)).stdout);
    expect(json.find((e: any) => e.managed)).toMatchObject({ database: db.name, schemaVersion: { version: '42' }, verified: true });
    const ok = await backupCli('backup:check', ['--max-age', '26h'], db, dir);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^OK: .+ is 0\.0h old \(limit 26\.0h\)/);
    // Make the only backup two days old, as recorded.
    const manifestFile = (await readdir(dir)).find((f) => f.endsWith('.manifest.json'))!;
    const manifest = JSON.parse(await readFile(path.join(dir, manifestFile), 'utf8'));
    manifest.startedAt = new Date(Date.now() - 48 * 3_600_000).toISOString();
    await writeFile(path.join(dir, manifestFile), JSON.stringify(manifest));
    const stale = await backupCli('backup:check', [], db, dir);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/^BACKUP_STALE: the newest verified backup is too old[^]*is 48\.0h old; the limit is 26\.0h/);
    const pruned = await backupCli('backup:create', ['--prune'], db, dir);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stdout).toContain('left alone legacy_20240101.sql.gz (not written by tidemark)');
    expect(pruned.stdout).toMatch(/kept .+ \(.*pinned.*\)/);
    expect(pruned.stdout).toContain('Deleted 0, kept 2.');
    expect((await readdir(dir)).filter((f) => f.endsWith('.dump'))).toHaveLength(2);
  });

  it('warns when a dump from a newer pg_dump major is restored into an older server', async () => {
    const dir = await tempDir('newer');
    const made = JSON.parse((await backupCli('backup:create', ['--json'], db, dir)).stdout);
    const manifestPath = `${made.path}.manifest.json`;
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
    await writeFile(manifestPath, JSON.stringify({ ...manifest, pgDumpVersion: '18.1' }));
    const name = `r_newer_${process.pid}`;
    const result = await backupCli('backup:restore', [made.path, '--new', name], db, dir);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/warning: this dump was made by pg_dump 18\.1, newer than the server \(PostgreSQL 15[^)]*\); settings it writes \(e\.g\. transaction_timeout from pg_dump 17\) may be rejected/);
    await db.query(`DROP DATABASE "${name}" WITH (FORCE)`).catch(() => undefined);
    const { default: pg } = await import('pg');
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  });
});
