import { describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import { cleanupAfterEach, databasesClosedAfterEach, type TestDatabase } from './helpers/db.js';
import { runCli } from './helpers/cli.js';
import { migrationsDir } from './helpers/migrations.js';
import { startDdlLog } from '../src/verify/ddl-log.js';
import { TrackedSnapshots } from '../src/verify/tracked-snapshots.js';

const database = databasesClosedAfterEach();
const cleanup = cleanupAfterEach();

async function client(db: TestDatabase): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  cleanup(() => c.end());
  return c;
}

/**
 * DDL whose effects reach past the object it names: renames seen through a
 * view, a foreign key, a trigger or a default; grants, which name no object
 * to an event trigger; cascades; partitions; commands run inside DO blocks.
 */
const statements = (role: string) => [
  'CREATE SCHEMA app',
  'CREATE SCHEMA rep',
  'CREATE TABLE app.users (id int PRIMARY KEY, email text NOT NULL, name text)',
  'CREATE TABLE app.orders (id int PRIMARY KEY, user_id int REFERENCES app.users, total numeric)',
  'CREATE VIEW rep.user_emails AS SELECT id, email FROM app.users',
  'ALTER TABLE app.users RENAME COLUMN email TO mail',
  'ALTER TABLE app.users RENAME TO people',
  'ALTER SCHEMA app RENAME TO core',
  'CREATE FUNCTION core.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$',
  'CREATE TRIGGER orders_touch BEFORE UPDATE ON core.orders FOR EACH ROW EXECUTE FUNCTION core.touch()',
  'ALTER FUNCTION core.touch() RENAME TO touched',
  'CREATE SEQUENCE core.order_no',
  "ALTER TABLE core.orders ADD COLUMN no bigint DEFAULT nextval('core.order_no')",
  'ALTER SEQUENCE core.order_no RENAME TO order_number',
  'DROP SEQUENCE core.order_number CASCADE',
  'GRANT SELECT ON core.people TO PUBLIC',
  'GRANT UPDATE (total) ON core.orders TO PUBLIC',
  'REVOKE SELECT ON core.people FROM PUBLIC',
  'GRANT USAGE ON SCHEMA rep TO PUBLIC',
  "COMMENT ON INDEX core.orders_pkey IS 'pk'",
  "COMMENT ON COLUMN core.orders.total IS 'sum'",
  "CREATE TYPE core.state AS ENUM ('new')",
  "ALTER TYPE core.state ADD VALUE 'paid'",
  'ALTER TABLE core.orders ADD COLUMN state core.state',
  'ALTER TYPE core.state RENAME TO status',
  'CREATE DOMAIN core.positive AS numeric CHECK (VALUE > 0)',
  'ALTER DOMAIN core.positive ADD CONSTRAINT nonzero CHECK (VALUE <> 0)',
  'ALTER DOMAIN core.positive DROP CONSTRAINT nonzero',
  'CREATE TABLE core.events (id int, at date) PARTITION BY RANGE (at)',
  "CREATE TABLE core.events_2026 PARTITION OF core.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')",
  'ALTER TABLE core.events ADD COLUMN kind text',
  'CREATE INDEX events_at ON core.events (at)',
  'CREATE TRIGGER events_touch BEFORE UPDATE ON core.events FOR EACH ROW EXECUTE FUNCTION core.touched()',
  'ALTER TABLE core.events ADD CONSTRAINT events_id CHECK (id > 0)',
  'ALTER TABLE core.events DETACH PARTITION core.events_2026',
  'CREATE TYPE core.pair AS (a int, b text)',
  'ALTER TYPE core.pair ADD ATTRIBUTE c date',
  'CREATE POLICY own ON core.orders USING (user_id > 0)',
  'ALTER TABLE core.orders ENABLE ROW LEVEL SECURITY',
  'ALTER POLICY own ON core.orders USING (user_id > 1)',
  'DROP POLICY own ON core.orders',
  'CREATE RULE nothing AS ON DELETE TO core.orders DO INSTEAD NOTHING',
  'DROP RULE nothing ON core.orders',
  'ALTER TABLE core.orders ALTER COLUMN total TYPE bigint USING total::bigint',
  'CREATE INDEX orders_total ON core.orders (total)',
  'DROP INDEX core.orders_total',
  'ALTER TABLE core.orders ADD COLUMN note text',
  'ALTER TABLE core.orders DROP COLUMN note',
  'DROP TRIGGER events_touch ON core.events',
  'DROP FUNCTION core.touched() CASCADE',
  'DROP TABLE core.people CASCADE',
  "DO $$ BEGIN EXECUTE 'CREATE TABLE core.made_in_do (x int)'; END $$",
  'CREATE MATERIALIZED VIEW rep.totals AS SELECT sum(total) AS total FROM core.orders',
  'CREATE EXTENSION pgcrypto',
  'CREATE STATISTICS core.orders_deps (dependencies) ON user_id, total FROM core.orders',
  'ALTER TABLE core.orders RENAME COLUMN total TO amount',
  'ALTER DEFAULT PRIVILEGES IN SCHEMA core GRANT SELECT ON TABLES TO PUBLIC',
  'ALTER DEFAULT PRIVILEGES IN SCHEMA core REVOKE SELECT ON TABLES FROM PUBLIC',
  `CREATE ROLE ${role}`,
  `GRANT SELECT ON core.orders TO ${role}`,
  `ALTER ROLE ${role} RENAME TO ${role}_renamed`,
  `GRANT SELECT ON rep.totals TO ${role}_renamed`,
  `DROP OWNED BY ${role}_renamed`,
  `DROP ROLE ${role}_renamed`,
  'DROP SCHEMA rep CASCADE',
];

describe('migrate:verify reads only what each step changed', () => {
  it.each([['18', 'pg18Url'], ['15', 'pgToolsUrl']] as const)('on PostgreSQL %s, the tracked schema equals a whole reading after each of many kinds of DDL', async (_version, server) => {
    const db = await database('verify_tracking', inject(server));
    const [ddl, reader] = [await client(db), await client(db)];
    const role = `tm_track_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    cleanup(() => db.query(`DROP ROLE IF EXISTS ${role}; DROP ROLE IF EXISTS ${role}_renamed`));
    expect(await startDdlLog(reader)).toBe(true);
    const snapshots = new TrackedSnapshots(reader, {});
    await snapshots.start();
    const unchanged: string[] = [];
    for (const statement of statements(role)) {
      await snapshots.take('fp_before');
      await ddl.query(statement);
      // What the record saw, then what a whole reading finds beyond it: nothing.
      if (!(await snapshots.differences('fp_before')).length) unchanged.push(statement);
      expect(await snapshots.missed(), statement).toEqual([]);
    }
    // Every statement but these changes the fingerprint, and the record saw it.
    expect(unchanged).toEqual([`CREATE ROLE ${role}`, `DROP ROLE ${role}_renamed`]);
  });

  it('a change no event trigger sees is found by the whole reading at the end', async () => {
    const db = await database('verify_tracking_miss');
    const [ddl, reader] = [await client(db), await client(db)];
    expect(await startDdlLog(reader)).toBe(true);
    const snapshots = new TrackedSnapshots(reader, {});
    await ddl.query('CREATE TABLE t (a int)');
    await snapshots.start();
    await snapshots.take('fp_before');
    await ddl.query(`UPDATE pg_catalog.pg_attribute SET attnotnull = true WHERE attrelid = 'public.t'::regclass AND attname = 'a'`);
    const missed = await snapshots.missed();
    expect(missed.map((d) => `${d.change.kind} ${d.change.name} ${d.change.fields.map((f) => f.field)}`)).toEqual(['column public.t.a notNull']);
  });
});

const pad = (i: number) => String(i).padStart(6, '0');

function files(...migrations: Array<[string, string, string]>): Record<string, string> {
  return Object.fromEntries(migrations.flatMap(([name, up, down], i) => [[`${pad(i + 1)}_${name}.up.sql`, up], [`${pad(i + 1)}_${name}.down.sql`, down]]));
}

const verify = (url: string, dir: string, args: string[] = []) => runCli('migrate:verify', ['--dir', dir, '--all', '--json', ...args], { env: { DATABASE_URL: url } });

/** Passing and failing migrations whose differences show only through other objects than the one they name. */
const MIXED: Array<[string, string, string]> = [
  ['users', 'CREATE TABLE users (id int PRIMARY KEY, email text);\nCREATE VIEW emails AS SELECT email FROM users;\n', 'DROP VIEW emails;\nDROP TABLE users;\n'],
  ['rename_email', 'ALTER TABLE users RENAME COLUMN email TO mail;\n', 'SELECT 1;\n'],
  ['orders', 'CREATE TABLE orders (id int PRIMARY KEY, user_id int REFERENCES users);\n', 'DROP TABLE orders;\n'],
  ['rename_users', 'ALTER TABLE users RENAME TO people;\n', 'ALTER TABLE people RENAME TO users;\n'],
  ['grant', 'GRANT SELECT ON orders TO PUBLIC;\n', 'SELECT 1;\n'],
  ['seq', "CREATE SEQUENCE order_no;\nALTER TABLE orders ADD COLUMN no bigint DEFAULT nextval('order_no');\n", 'DROP SEQUENCE order_no CASCADE;\nALTER TABLE orders DROP COLUMN no;\n'],
  ['label', "CREATE TYPE state AS ENUM ('new');\nALTER TABLE orders ADD COLUMN state state;\n", 'ALTER TABLE orders DROP COLUMN state;\n'],
];

describe('migrate:verify gives the same report whichever way it reads the schema', () => {
  it('reading what each step changed and reading the whole schema at every turn agree, finding for finding', async () => {
    const db = await database('verify_same_report');
    const { dir } = await migrationsDir(files(...MIXED));
    const [tracked, whole] = [await verify(db.url, dir), await verify(db.url, dir, ['--read-whole'])];
    expect(tracked.code, tracked.stderr).toBe(1);
    expect(whole.code, whole.stderr).toBe(1);
    const [a, b] = [JSON.parse(tracked.stdout), JSON.parse(whole.stdout)];
    expect([a.schemaReads, b.schemaReads]).toEqual(['changes', 'whole']);
    expect(a.missedChanges).toEqual([]);
    expect(a.checks).toEqual(b.checks);
    expect(a.passed).toEqual([1, 3, 4, 6]);
    const words = a.findings.flatMap((f: { differences?: string[] }) => f.differences ?? []).join('\n');
    expect(words).toContain('view emails');
    expect(words).toContain('enum state exists after down');
    expect(a.findings.map((f: { version: number; code: string }) => `${f.version} ${f.code}`)).toEqual(['2 VERIFY_NOT_REVERSIBLE', '2 VERIFY_UP_FAILED', '5 VERIFY_NOT_REVERSIBLE', '7 VERIFY_NOT_REVERSIBLE', '7 VERIFY_UP_FAILED']);
  });

  it('when the record missed a change, the run says so and is repeated reading the whole schema', async () => {
    const db = await database('verify_missed');
    const { dir } = await migrationsDir(files(
      ['t', 'CREATE TABLE t (a int);\n', 'DROP TABLE t;\n'],
      ['not_null_by_hand', "UPDATE pg_catalog.pg_attribute SET attnotnull = true WHERE attrelid = 't'::regclass AND attname = 'a';\n", 'SELECT 1;\n'],
    ));
    const result = await verify(db.url, dir);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain("the scratch database's DDL record missed changes (column t.a notNull changed");
    const report = JSON.parse(result.stdout);
    expect(report.schemaReads).toBe('whole');
    expect(report.missedChanges).toHaveLength(1);
    expect(report.findings.map((f: { version: number; code: string }) => `${f.version} ${f.code}`)).toEqual(['2 VERIFY_NOT_REVERSIBLE']);
  });

  it('a user who is not a superuser gets the whole schema read at every turn, and the same verdict', async () => {
    const db = await database('verify_not_super');
    const role = `tm_verify_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    await db.query(`CREATE ROLE ${role} LOGIN CREATEDB PASSWORD 'verify-pw-7'`);
    cleanup(() => db.query(`DROP ROLE IF EXISTS ${role}`));
    const url = new URL(db.url);
    [url.username, url.password] = [role, 'verify-pw-7'];
    const { dir } = await migrationsDir(files(MIXED[0], MIXED[2]));
    const result = await verify(url.toString(), dir);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: true, schemaReads: 'whole', passed: [1, 2] });
    expect(result.stdout + result.stderr).not.toContain('verify-pw-7');
  });
});
