/**
 * The migration sets the migrate trials apply, and their reference
 * fingerprints: F(v) is the schema after exactly migrations 1..v, computed by
 * running the files' SQL directly (not through tidemark) on a database of
 * its own; P(k) is the schema after k statements of the no-transaction file.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { schemaFingerprint, withClient } from '../fingerprint.js';
import { createDatabase, dropDatabase, type PrivateServer } from '../server.js';

// The marker comment puts the step in pg_stat_activity's query text: a point to inject at.
const step = (v: number, sql: string) => `-- fault step ${v}\n${sql}\n`;

export const TRANSACTIONAL = [
  'CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);',
  'ALTER TABLE accounts ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();\nCREATE INDEX accounts_created ON accounts (created_at);',
  'CREATE TABLE projects (id bigint PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts, name text NOT NULL);',
  [
    "INSERT INTO accounts (id, email) SELECT g, 'user' || g || '@example.com' FROM generate_series(1, 3000) g;",
    'SELECT pg_sleep(0.03);',
    'CREATE UNIQUE INDEX accounts_email ON accounts (email);',
  ].join('\n'),
  'ALTER TABLE projects ADD CONSTRAINT projects_name_len CHECK (length(name) < 200);\nALTER TABLE projects ADD COLUMN archived boolean NOT NULL DEFAULT false;',
  [
    'CREATE TABLE events (id bigserial PRIMARY KEY, project_id bigint REFERENCES projects ON DELETE CASCADE, payload jsonb);',
    'SELECT pg_sleep(0.03);',
    'CREATE INDEX events_project ON events (project_id);',
  ].join('\n'),
  'ALTER TABLE accounts RENAME COLUMN email TO login;',
  'CREATE VIEW active_projects AS SELECT id, name FROM projects WHERE NOT archived;\nALTER TABLE events ADD COLUMN at timestamptz;',
];

/** The no-transaction file is the third; its statements, one by one. */
export const NO_TX_VERSION = 3;
export const NO_TX_STATEMENTS = [
  'CREATE INDEX CONCURRENTLY accounts_created_email ON accounts (created_at, email)',
  'SELECT pg_sleep(0.03)',
  'CREATE INDEX CONCURRENTLY accounts_email_lower ON accounts (lower(email))',
  'ALTER TABLE accounts ADD COLUMN note text',
];
export const NO_TX_DOWN = [
  'DROP INDEX IF EXISTS accounts_created_email;',
  'DROP INDEX IF EXISTS accounts_email_lower;',
  'ALTER TABLE accounts DROP COLUMN IF EXISTS note;',
].join('\n');
export const WITH_NO_TX = [
  'CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());',
  [
    "INSERT INTO accounts (id, email) SELECT g, 'user' || g || '@example.com' FROM generate_series(1, 20000) g;",
    'CREATE TABLE projects (id bigint PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts, name text NOT NULL);',
  ].join('\n'),
  `-- tidemark:no-transaction\n${NO_TX_STATEMENTS.map((s) => `${s};`).join('\n')}`,
  'ALTER TABLE projects ADD COLUMN archived boolean NOT NULL DEFAULT false;',
  'CREATE TABLE events (id bigserial PRIMARY KEY, project_id bigint REFERENCES projects);',
];

export interface MigrationSet {
  dir: string;
  files: string[];
  /** F(v), v = 0..N. */
  fingerprints: string[];
  /** P(k), k = 0..statements, for the no-transaction file (empty for the transactional set). */
  partial: string[];
}

async function writeSet(root: string, name: string, files: string[]): Promise<string> {
  const dir = path.join(root, name);
  await mkdir(dir);
  await Promise.all(files.map(async (sql, i) => {
    const v = i + 1;
    const body = sql.startsWith('-- tidemark:no-transaction') ? sql.replace('\n', `\n-- fault step ${v}\n`) : step(v, sql);
    await writeFile(path.join(dir, `00000${v}_step${v}.up.sql`), body);
    await writeFile(path.join(dir, `00000${v}_step${v}.down.sql`), '-- not used\n');
  }));
  return dir;
}

/** Applies the files one by one on a scratch database and fingerprints after each (and after each no-transaction statement). */
async function reference(server: PrivateServer, files: string[], label: string): Promise<{ fingerprints: string[]; partial: string[] }> {
  const db = await createDatabase(server, `faults_reference_${label}`);
  try {
    return await withClient(server.url(db), async (client) => {
      const fingerprints = [await schemaFingerprint(client)];
      const partial: string[] = [];
      for (const sql of files) {
        if (sql.startsWith('-- tidemark:no-transaction')) {
          partial.push(await schemaFingerprint(client));
          for (const statement of NO_TX_STATEMENTS) {
            await client.query(statement);
            partial.push(await schemaFingerprint(client));
          }
        } else await client.query(sql);
        fingerprints.push(await schemaFingerprint(client));
      }
      return { fingerprints, partial };
    });
  } finally {
    await dropDatabase(server, db);
  }
}

/** Both sets, written under `root` (the caller removes it). */
export async function migrationSets(server: PrivateServer): Promise<{ root: string; transactional: MigrationSet; noTransaction: MigrationSet }> {
  const root = await mkdtemp(path.join(tmpdir(), 'faults-migrations-'));
  const [txDir, noTxDir, tx, noTx] = await Promise.all([
    writeSet(root, 'transactional', TRANSACTIONAL), writeSet(root, 'no-transaction', WITH_NO_TX),
    reference(server, TRANSACTIONAL, 'tx'), reference(server, WITH_NO_TX, 'notx'),
  ]);
  return {
    root,
    transactional: { dir: txDir, files: TRANSACTIONAL, ...tx },
    noTransaction: { dir: noTxDir, files: WITH_NO_TX, ...noTx },
  };
}
