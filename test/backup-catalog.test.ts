import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFile, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { TestDatabase } from './helpers/db.js';
import { backupCli, seededDatabase, tempDir } from './helpers/backup.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await seededDatabase('catalog_fresh');
});
afterAll(() => db.close());

async function backupInto(dir: string): Promise<string> {
  const made = await backupCli('backup:create', ['--json'], db, dir);
  expect(made.code, made.stderr).toBe(0);
  return JSON.parse(made.stdout).path;
}

const listOf = async (dir: string) => JSON.parse((await backupCli('backup:list', ['--json'], db, dir)).stdout) as Array<Record<string, any>>;

describe('freshness means a backup that is there, whole, and verified', () => {
  it('a dump cut to 1,000 bytes under an intact manifest does not count; an older whole one does', async () => {
    const dir = await tempDir('fresh-truncated');
    const older = await backupInto(dir);
    const newer = await backupInto(dir);
    await truncate(newer, 1000);
    const check = await backupCli('backup:check', [], db, dir);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toMatch(new RegExp(`^OK: ${path.basename(older)} is `));
    expect(check.stderr).toContain(`warning: passed over ${path.basename(newer)}: 1000 bytes on disk; the manifest recorded`);
    await rm(older);
    const stale = await backupCli('backup:check', [], db, dir);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/^BACKUP_STALE: no verified backup\n[^]*passed over: [^]*1000 bytes on disk[^]*the dump is missing/);
    const list = await listOf(dir);
    expect(list.map((e) => [e.file, e.status, e.verified])).toEqual([
      [path.basename(older), 'missing', false],
      [path.basename(newer), 'size-differs', false],
    ]);
  });

  it('backup:list shows every file it sees, with what is wrong', async () => {
    const dir = await tempDir('list-problems');
    const good = await backupInto(dir);
    const gone = await backupInto(dir);
    await rm(gone);
    const corrupt = path.join(dir, 'corrupt.dump');
    await copyFile(good, corrupt);
    await writeFile(`${corrupt}.manifest.json`, (await readFile(`${good}.manifest.json`, 'utf8')).slice(0, 40));
    const foreign = path.join(dir, 'foreign.dump');
    await copyFile(good, foreign);
    await writeFile(`${foreign}.manifest.json`, JSON.stringify({ tool: 'something-else', file: 'foreign.dump' }));
    await writeFile(path.join(dir, 'cron_20240101.sql.gz'), 'x');
    const byFile = Object.fromEntries((await listOf(dir)).map((e) => [e.file, e]));
    expect(byFile[path.basename(good)]).toMatchObject({ status: 'ok', verified: true, managed: true });
    expect(byFile[path.basename(gone)]).toMatchObject({ status: 'missing', verified: false, problem: 'the dump is missing; only its manifest is left' });
    expect(byFile['corrupt.dump']).toMatchObject({ status: 'manifest-corrupt', verified: false, problem: 'manifest corrupt: not valid JSON' });
    expect(byFile['foreign.dump']).toMatchObject({ status: 'manifest-corrupt', problem: 'manifest not written by tidemark' });
    expect(byFile['cron_20240101.sql.gz']).toMatchObject({ status: 'not-tidemark', managed: false });
    const text = (await backupCli('backup:list', [], db, dir)).stdout;
    expect(text).toMatch(/^FILE +KIND +SIZE +AGE +SERVER +PG_DUMP +SCHEMA +TAG +VERIFIED +STATUS$/m);
    expect(text).toMatch(new RegExp(`^${path.basename(gone)} +full/custom +missing .* no +the dump is missing`, 'm'));
    expect(text).toMatch(/^corrupt\.dump +unknown .* no +manifest corrupt: not valid JSON$/m);
    expect(text).toMatch(new RegExp(`^${path.basename(good)} .* yes +ok$`, 'm'));
  });

  it.each(['backup:list', 'backup:check'])('%s --backup-dir /proc is BACKUP_DIR_INVALID, not a raw errno', async (command) => {
    const result = await backupCli(command, ['--backup-dir', '/proc'], db, '');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^BACKUP_DIR_INVALID: unusable backup directory\n[^]*a kernel filesystem/);
  });
});
