import pg from 'pg';
import { afterEach, inject } from 'vitest';

export interface TestDatabase {
  name: string;
  url: string;
  query<T extends pg.QueryResultRow = any>(text: string, values?: unknown[]): Promise<pg.QueryResult<T>>;
  /** Ends this helper's connections, keeping the database (e.g. to use it as a template). */
  release(): Promise<void>;
  close(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function admin<T>(serverUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fresh database of its own for one test file (or test), on the given server; a copy of `template` when given. */
export async function createTestDatabase(label: string, serverUrl = inject('pg18Url'), options: { template?: string } = {}): Promise<TestDatabase> {
  const name = `t_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`.slice(0, 63);
  const template = options.template ? ` TEMPLATE ${pg.escapeIdentifier(options.template)}` : '';
  await admin(serverUrl, (c) => c.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}${template}`));
  const url = withDatabase(serverUrl, name);
  const clients: pg.Client[] = [];
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on('error', () => undefined);
  let released = false;
  const release = async () => {
    if (!released) await pool.end();
    released = true;
  };
  return {
    name,
    url,
    query: (text, values) => pool.query(text, values as unknown[]),
    release,
    async close() {
      await release();
      await Promise.all(clients.map((c) => c.end()));
      await admin(serverUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`));
    },
  };
}

/** Registers cleanups (databases, clients a test opened) that run after each test, the last first. */
export function cleanupAfterEach(): (cleanup: () => Promise<unknown>) => void {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return (cleanup) => void cleanups.push(cleanup);
}

/** A test's own databases, closed after each test. */
export function databasesClosedAfterEach(): (label: string, server?: string) => Promise<TestDatabase> {
  const cleanup = cleanupAfterEach();
  return async (label, server) => {
    const db = await createTestDatabase(label, server);
    cleanup(() => db.close());
    return db;
  };
}
