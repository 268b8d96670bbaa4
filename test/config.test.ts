import { describe, expect, it } from 'vitest';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadSettings, parseDuration } from '../src/config.js';

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
    expect(fromFile.migrationsDir).toBe(path.join(cwd, 'db/migrations'));
    const fromEnv = loadSettings({ cwd, env: { DATABASE_URL: 'postgres://a:b@envhost/envdb' } });
    expect(fromEnv.database.database).toBe('envdb');
  });
  it('--env-file picks another file and must exist', async () => {
    const cwd = await project();
    await writeFile(path.join(cwd, 'prod.env'), 'DATABASE_URL=postgres://a:b@prod/app\nMIGRATIONS_TABLE=ops.versions\nTIDEMARK_LOCK_TIMEOUT=2m\n');
    const settings = loadSettings({ cwd, env: {}, envFile: 'prod.env' });
    expect(settings.database.client.host).toBe('prod');
    expect(settings.migrationsTable).toEqual({ schema: 'ops', table: 'versions' });
    expect(settings.lockTimeoutMs).toBe(120_000);
    expect(() => loadSettings({ cwd, env: {}, envFile: 'missing.env' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
  it('is CONFIG_INVALID without DATABASE_URL, and without a created embedded database', async () => {
    const cwd = await project();
    expect(() => loadSettings({ cwd, env: {} })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => loadSettings({ cwd, env: { TIDEMARK_EMBEDDED: '1' } })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', hint: expect.stringContaining('db:start') }));
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
