import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { databasesClosedAfterEach, type TestDatabase } from './helpers/db.js';
import { runCli } from './helpers/cli.js';
import { backupCli, tempDir } from './helpers/backup.js';
import { normaliseViewDefinition } from '../src/schema/fingerprint.js';
import { compareSchemas, describeChange } from '../src/schema/diff.js';

const database = databasesClosedAfterEach();

/** Every kind of object the fingerprint reads, with nothing that differs between PostgreSQL 15 and 18 installs (extension versions). */
function richSchema(role: string): string {
  return `
    CREATE SCHEMA app;
    CREATE TYPE object_type AS ENUM ('a', 'b');
    ALTER TYPE object_type ADD VALUE 'c' BEFORE 'b';
    CREATE DOMAIN positive AS integer NOT NULL DEFAULT 1 CHECK (VALUE > 0);
    CREATE TYPE pair AS (x int, y text);
    CREATE TYPE floatrange AS RANGE (subtype = float8);
    CREATE TABLE objects (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, repo text NOT NULL DEFAULT 'x', kind object_type,
      n positive, doubled int GENERATED ALWAYS AS (n * 2) STORED, name text COLLATE "C", UNIQUE (repo, name));
    CREATE INDEX objects_repo_idx ON objects (repo) WHERE repo <> '';
    CREATE TABLE child (id serial PRIMARY KEY, object_id bigint REFERENCES objects ON DELETE CASCADE, note text, CHECK (id > 0));
    ALTER TABLE child DROP COLUMN note;
    ALTER TABLE child ADD COLUMN note2 text;
    COMMENT ON TABLE objects IS 'the objects';
    COMMENT ON COLUMN objects.repo IS 'where it lives';
    CREATE VIEW recent AS SELECT id, repo FROM objects WHERE repo LIKE 'a%';
    CREATE MATERIALIZED VIEW counts AS SELECT count(*) AS n FROM objects;
    CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.repo := lower(NEW.repo); RETURN NEW; END$$;
    CREATE FUNCTION add(a int, b int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT a + b';
    CREATE PROCEDURE noop() LANGUAGE sql AS 'SELECT 1';
    CREATE TRIGGER objects_touch BEFORE INSERT ON objects FOR EACH ROW EXECUTE FUNCTION touch();
    CREATE TABLE events (id int, at date) PARTITION BY RANGE (at);
    CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
    CREATE SEQUENCE app.counter AS integer INCREMENT 5 CYCLE;
    ALTER TABLE objects ENABLE ROW LEVEL SECURITY;
    DO $$ BEGIN CREATE ROLE ${role}; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
    CREATE POLICY own ON objects FOR SELECT TO ${role} USING (repo = current_user);
    GRANT SELECT ON objects TO ${role};
    GRANT USAGE ON SCHEMA app TO ${role};
    REVOKE EXECUTE ON FUNCTION add(int, int) FROM PUBLIC;
    CREATE RULE no_delete AS ON DELETE TO child DO INSTEAD NOTHING;
    CREATE AGGREGATE total(int) (sfunc = int4pl, stype = int, initcond = '0');
    CREATE STATISTICS objects_repo_name (ndistinct, dependencies) ON repo, name FROM objects;
    ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO ${role};
    CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);`;
}

const schemaOf = async (db: TestDatabase, args: string[] = ['--json'], env: Record<string, string> = {}) => {
  const result = await runCli('db:schema', args, { env: { DATABASE_URL: db.url, ...env } });
  expect(result.code, result.stderr).toBe(0);
  return args.includes('--json') ? JSON.parse(result.stdout) : result.stdout;
};

describe('schema fingerprint', () => {
  it('prints one object per line with its SHA-256, the migration tables left out, the same across two runs', async () => {
    const db = await database('fp_runs');
    await db.query(richSchema('fp_reader_runs'));
    const text = await schemaOf(db, []);
    expect(text).toContain('index public.objects_repo_idx {"definition":"CREATE INDEX objects_repo_idx ON public.objects USING btree (repo) WHERE (repo <> \'\'::text)","table":"public.objects"}');
    expect(text).toContain('enum public.object_type {"labels":["a","c","b"]}');
    expect(text).toContain('table public.objects {"acl":["fp_reader_runs:SELECT"],"comment":"the objects","rowSecurity":"enabled"}');
    expect(text).toContain('column public.child.note2 {"position":3,"type":"text"}');
    expect(text).toContain('statistics public.objects_repo_name {"definition":"CREATE STATISTICS public.objects_repo_name (ndistinct, dependencies) ON repo, name FROM public.objects"}');
    expect(text).toMatch(/^default privileges \S+ on tables in app \{"privileges":\["fp_reader_runs:SELECT"\]\}$/m);
    expect(text).not.toContain('schema_migrations');
    expect(text).toMatch(/^sha256 [0-9a-f]{64} \(\d+ objects\)$/m);
    const [first, second] = [await schemaOf(db), await schemaOf(db)];
    expect(second).toEqual(first);
    expect(first.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(first.objects.find((o: { kind: string; name: string }) => o.kind === 'sequence' && o.name === 'public.objects_id_seq').attributes).toMatchObject({ ownedBy: 'public.objects.id (identity)' });
  });

  it('is byte-identical after a backup and restore', async () => {
    const source = await database('fp_backup', inject('pgToolsUrl'));
    await source.query(richSchema('fp_reader_backup'));
    const backups = await tempDir('fp-backup');
    expect((await backupCli('backup:create', [], source, backups)).code).toBe(0);
    const file = path.join(backups, (await readdir(backups)).find((f) => f.endsWith('.dump'))!);
    const name = `fp_restored_${process.pid}_${Math.random().toString(36).slice(2, 7)}`;
    const restored = await backupCli('backup:restore', [file, '--new', name], source, backups);
    expect(restored.code, restored.stderr).toBe(0);
    const url = new URL(source.url);
    url.pathname = `/${name}`;
    const copy = { url: url.toString() } as TestDatabase;
    try {
      const [a, b] = [await schemaOf(source, []), await schemaOf(copy, [])];
      expect(b).toBe(a);
      const diff = await runCli('db:diff', [source.url, copy.url]);
      expect(diff.code, diff.stderr).toBe(0);
      expect(diff.stdout).toContain('the schemas are the same');
    } finally {
      await source.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    }
  });

  it('is the same on PostgreSQL 15 and 18 for the same DDL', async () => {
    const [old, current] = [await database('fp_pg15', inject('pgToolsUrl')), await database('fp_pg18')];
    expect((await old.query('SHOW server_version_num')).rows[0].server_version_num).toMatch(/^15/);
    expect((await current.query('SHOW server_version_num')).rows[0].server_version_num).toMatch(/^18/);
    await old.query(richSchema('fp_reader_versions'));
    await current.query(richSchema('fp_reader_versions'));
    const [a, b] = [await schemaOf(old), await schemaOf(current)];
    expect(compareSchemas(a.objects, b.objects)).toEqual([]);
    expect(b.sha256).toBe(a.sha256);
    const diff = await runCli('db:diff', [old.url, current.url]);
    expect(diff.code, diff.stdout + diff.stderr).toBe(0);
  });

  it('db:diff says what differs in words, exits 1, and never prints a password', async () => {
    const [a, b] = [await database('fp_diff_a'), await database('fp_diff_b')];
    await a.query("CREATE TYPE mood AS ENUM ('ok', 'sad'); CREATE TABLE t (id int, c text DEFAULT 'x'); CREATE INDEX t_c ON t (c);");
    await b.query("CREATE TYPE mood AS ENUM ('ok', 'sad', 'glad'); CREATE TABLE t (id int, c text);");
    const result = await runCli('db:diff', [a.url, b.url]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('enum mood has labels [ok, sad, glad] in B, [ok, sad] in A');
    expect(result.stdout).toContain("column t.c default changed: none in B, 'x'::text in A");
    expect(result.stdout).toContain('index t_c is missing in B, present in A');
    const password = new URL(a.url).password;
    expect(password.length).toBeGreaterThan(3);
    expect(result.stdout + result.stderr).not.toContain(password);
    const json = await runCli('db:diff', [a.url, b.url, '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ same: false, changes: expect.arrayContaining([expect.objectContaining({ kind: 'index', name: 'public.t_c', change: 'removed' })]) });
    expect(json.stdout).not.toContain(password);
    const usage = await runCli('db:diff', [a.url]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).not.toContain(password);
  });
});

describe('schema fingerprint pieces', () => {
  it('brings a PostgreSQL 15 view definition over one relation to the PostgreSQL 16+ form', () => {
    const old = " SELECT objects.id,\n    objects.repo\n   FROM public.objects\n  WHERE (objects.repo ~~ 'a%'::text);";
    expect(normaliseViewDefinition(old)).toBe(" SELECT id,\n    repo\n   FROM public.objects\n  WHERE (repo ~~ 'a%'::text);");
    const join = ' SELECT a.id\n   FROM (public.a\n     JOIN public.b ON ((a.id = b.id)));';
    expect(normaliseViewDefinition(join)).toBe(join);
  });

  it('words added, removed and changed objects', () => {
    const changes = compareSchemas(
      [{ kind: 'enum', name: 'public.e', attributes: { labels: ['a'] } }, { kind: 'index', name: 'app.i', attributes: {} }],
      [{ kind: 'enum', name: 'public.e', attributes: { labels: ['a', 'b'] } }, { kind: 'table', name: 'public.t', attributes: {} }],
    );
    const labels = { before: 'before', after: 'after down' };
    expect(changes.flatMap((c) => describeChange(c, labels))).toEqual([
      'enum e has labels [a, b] after down, [a] before',
      'index app.i is missing after down, present before',
      'table t exists after down, not before',
    ]);
  });
});
