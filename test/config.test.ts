import { describe, expect, it } from 'vitest';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadSettings, parseDuration } from '../src/config.js';
import { loadBackupSettings } from '../src/backup/config.js';

async function project(env?: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tidemark-config-'));
  if (env !== undefined) await writeFile(path.join(dir, '.env'), env);
  return dir;
}

describe('loadSettings', () => {
  it('reads .env, with the environment winning', async () => {
    const cwd = await project('DATABASE_URL=postgres://a:b@filehost/filedb\nMIGRATIONS_DIR=db/migrations\n');
    const fromFile = loadSettings({ cwd, env: {} });
    expect(fromFile.database.client.host).toBe('filehost');
    expect(fromFile.migrations.dir).toBe(path.join(cwd, 'db/migrations'));
    const fromEnv = loadSettings({ cwd, env: { DATABASE_URL: 'postgres://a:b@envhost/envdb' } });
    expect(fromEnv.database.database).toBe('envdb');
  });
  it('--env-file picks another file and must exist', async () => {
    const cwd = await project();
    await writeFile(path.join(cwd, 'prod.env'), 'DATABASE_URL=postgres://a:b@prod/app\nMIGRATIONS_TABLE=ops.versions\nTIDEMARK_LOCK_TIMEOUT=2m\n');
    const settings = loadSettings({ cwd, env: {}, envFile: 'prod.env' });
    expect(settings.database.client.host).toBe('prod');
    expect(settings.migrations.table).toEqual({ schema: 'ops', table: 'versions' });
    expect(settings.lockTimeoutMs).toBe(120_000);
    expect(() => loadSettings({ cwd, env: {}, envFile: 'missing.env' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
  it('is CONFIG_INVALID without DATABASE_URL, and without a created embedded database', async () => {
    const cwd = await project();
    expect(() => loadSettings({ cwd, env: {} })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => loadSettings({ cwd, env: { TIDEMARK_EMBEDDED: '1' } })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', hint: expect.stringContaining('db:start') }));
  });
});

describe('one settings for every command', () => {
  it('the backup commands read the same migrations table and directories, a database only when configured', async () => {
    const cwd = await project('BACKUP_DIR=dumps\nMIGRATIONS_TABLE=ops.versions\n');
    const withoutDatabase = loadBackupSettings({ cwd, env: {} });
    expect(withoutDatabase.database).toBeUndefined();
    expect(withoutDatabase.backup).toMatchObject({ dir: path.join(cwd, 'dumps'), dirConfigured: true });
    expect(withoutDatabase.migrations.table).toEqual({ schema: 'ops', table: 'versions' });
    const withDatabase = loadBackupSettings({ cwd, env: { DATABASE_URL: 'postgres://a:b@envhost/envdb', BACKUP_DIR: '' } });
    expect(withDatabase.database?.database).toBe('envdb');
    expect(withDatabase.backup).toMatchObject({ dir: path.join(cwd, 'backups'), dirConfigured: false });
  });
  it('a flag wins over the environment, the environment over .env', async () => {
    const cwd = await project('MIGRATIONS_DIR=from-file\nBACKUP_DIR=from-file\nDATABASE_URL=postgres://a:b@filehost/filedb\n');
    const fromEnv = loadSettings({ cwd, env: { MIGRATIONS_DIR: 'from-env', BACKUP_DIR: 'from-env' } });
    expect(fromEnv.migrations.dir).toBe(path.join(cwd, 'from-env'));
    expect(fromEnv.backup.dir).toBe(path.join(cwd, 'from-env'));
    const fromFlags = loadSettings({ cwd, env: { MIGRATIONS_DIR: 'from-env', BACKUP_DIR: 'from-env' }, migrationsDir: 'from-flag', backupDir: 'from-flag', databaseUrl: 'postgres://a:b@flaghost/flagdb' });
    expect(fromFlags.migrations.dir).toBe(path.join(cwd, 'from-flag'));
    expect(fromFlags.backup.dir).toBe(path.join(cwd, 'from-flag'));
    expect(fromFlags.database.database).toBe('flagdb');
  });
  it('--embedded without a created embedded database is CONFIG_INVALID even with DATABASE_URL set', async () => {
    const cwd = await project();
    expect(() => loadSettings({ cwd, env: { DATABASE_URL: 'postgres://a:b@envhost/envdb' }, embedded: true })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', hint: expect.stringContaining('db:start') }));
    expect(() => loadBackupSettings({ cwd, env: { DATABASE_URL: 'postgres://a:b@envhost/envdb' }, embedded: true, requireDatabase: true })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});

describe('parseDuration', () => {
  it.each([['30s', 30_000], ['2m', 120_000], ['500ms', 500], ['15', 15_000], ['1h', 3_600_000], ['1.5s', 1500]])('%s', (text, ms) => {
    expect(parseDuration(text, 0, '--lock-timeout')).toBe(ms);
  });
  it.each(['soon', '-1s', '1d', '1 m'])('refuses %s', (text) => {
    expect(() => parseDuration(text, 0, '--lock-timeout')).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});
