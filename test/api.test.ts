import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { autoMigrate, migrateStatus, loadSettings, TidemarkError, migrate, type MigrationEvent } from '../src/index.js';
import { DEMO_DIR } from './helpers/migrations.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('api');
});
afterAll(() => db.close());

const bundled = [
  { version: 1, name: 'accounts', up: 'CREATE TABLE accounts (id int primary key);', down: 'DROP TABLE accounts;' },
  { version: 2, name: 'accounts_email', up: 'ALTER TABLE accounts ADD COLUMN email text;' },
];

describe('autoMigrate', () => {
  it('is skipped when <PREFIX>_DB_AUTO_MIGRATE=false', async () => {
    const result = await autoMigrate({ env: { DATABASE_URL: db.url, HOLOMUSH_DB_AUTO_MIGRATE: 'false' }, envPrefix: 'HOLOMUSH', migrations: bundled });
    expect(result).toEqual({ skipped: true, reason: 'HOLOMUSH_DB_AUTO_MIGRATE=false' });
    expect((await db.query("SELECT to_regclass('schema_migrations') AS t")).rows[0].t).toBeNull();
  });

  it('applies bundled migrations, emits events, and reports what it did', async () => {
    const events: MigrationEvent['type'][] = [];
    const result = await autoMigrate({ env: { DATABASE_URL: db.url }, migrations: bundled, onEvent: (e) => events.push(e.type) });
    expect(result.skipped).toBe(false);
    if (result.skipped) return;
    expect(result.fromVersion).toBeNull();
    expect(result.toVersion).toBe(2n);
    expect(result.steps.map((s) => [s.version, s.mode])).toEqual([[1n, 'transaction'], [2n, 'transaction']]);
    expect(events).toEqual(['migrating', 'migrated', 'migrating', 'migrated']);
    const again = await autoMigrate({ env: { DATABASE_URL: db.url, TIDEMARK_DB_AUTO_MIGRATE: 'true' }, migrations: bundled });
    expect(again).toMatchObject({ skipped: false, steps: [] });
  });

  it('throws a typed error with a code', async () => {
    const broken = [...bundled, { version: 3, name: 'broken', up: 'ALTER TABLE nope ADD COLUMN x int;' }];
    const err = await autoMigrate({ env: { DATABASE_URL: db.url }, migrations: broken }).catch((e) => e);
    expect(err).toBeInstanceOf(TidemarkError);
    expect(err.code).toBe('MIGRATION_UP_FAILED');
    expect(err.operation).toBe('apply migration 3 (3_broken.up.sql)');
    expect(err.exitCode).toBe(1);
  });

  it('the library functions take validated settings', async () => {
    const settings = loadSettings({ env: { DATABASE_URL: db.url, MIGRATIONS_TABLE: 'demo_versions' }, migrationsDir: DEMO_DIR });
    await migrate(settings, { steps: 1 });
    const status = await migrateStatus(settings);
    expect(status).toMatchObject({ version: 1n, table: 'public.demo_versions', counts: { applied: 1, pending: 4 } });
  });
});
