import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './helpers/wait.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { parseDatabaseUrl } from '../src/connection-string.js';
import { withAdvisoryLock, withClient, withTransaction } from '../src/db/scoped.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('db_scoped');
  await db.query('CREATE TABLE marks (n int)');
});
afterAll(() => db.close());

const target = () => parseDatabaseUrl(db.url);

describe('withClient, withTransaction, withAdvisoryLock', () => {
  it('withClient closes its connection after the function, also when it throws', async () => {
    const pids: number[] = [];
    const pidOf = async (c: { query: (sql: string) => Promise<{ rows: { pid: number }[] }> }) => (await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    await withClient(target(), { operation: 'test' }, async (c) => void pids.push(await pidOf(c)));
    await expect(withClient(target(), { operation: 'test' }, async (c) => {
      pids.push(await pidOf(c));
      throw new Error('boom');
    })).rejects.toThrow('boom');
    expect(pids).toHaveLength(2);
    // The server ends a backend a moment after its client hung up.
    await waitFor(async () => (await db.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ANY($1)', [pids])).rows[0].n === 0, 'both sessions gone');
  });

  it('withClient fails to connect with DB_CONNECT_FAILED', async () => {
    const unreachable = parseDatabaseUrl('postgres://u:pw@127.0.0.1:1/x');
    await expect(withClient(unreachable, { operation: 'test' }, async () => 1)).rejects.toMatchObject({ code: 'DB_CONNECT_FAILED' });
  });

  it('withTransaction commits on success and rolls back on failure', async () => {
    await withClient(target(), { operation: 'test' }, async (c) => {
      await withTransaction(c, async () => void (await c.query('INSERT INTO marks VALUES (1)')));
      await expect(withTransaction(c, async () => {
        await c.query('INSERT INTO marks VALUES (2)');
        throw new Error('undo');
      })).rejects.toThrow('undo');
    });
    const { rows } = await db.query('SELECT array_agg(n ORDER BY n) AS ns FROM marks');
    expect(rows[0].ns).toEqual([1]);
  });

  it('withAdvisoryLock refuses at once while another session holds the key, and releases it after', async () => {
    const key = 4242n;
    await withClient(target(), { operation: 'test' }, async (first) => {
      await withAdvisoryLock(first, key, async () => {
        await withClient(target(), { operation: 'test' }, async (second) => {
          await expect(withAdvisoryLock(second, key, async () => 'ran', { held: async () => new Error('held elsewhere') })).rejects.toThrow('held elsewhere');
        });
      }, { held: async () => new Error('unexpected') });
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`, [Number(key)]);
      expect(rows[0].n).toBe(0);
    });
  });
});
