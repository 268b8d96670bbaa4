import { afterEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { runCli } from './helpers/cli.js';

/**
 * Backfill modules of every kind against a small table: TypeScript with a
 * relative import, .mjs, CommonJS .js, and modules that break the contract.
 */
const SETUP = `
CREATE TABLE items (id int PRIMARY KEY, kind text NOT NULL, done boolean NOT NULL DEFAULT false, touches int NOT NULL DEFAULT 0);
INSERT INTO items (id, kind) SELECT i, CASE WHEN i % 2 = 0 THEN 'even' ELSE 'odd' END FROM generate_series(1, 50) i;
CREATE TABLE flags (poisoned boolean NOT NULL);
INSERT INTO flags VALUES (true);
`;

const MODULES: Record<string, string> = {
  // Item 25 fails with a division by zero while flags.poisoned is set.
  'lib/pending.ts': `export const PENDING: string = "NOT done AND ($1::text IS NULL OR kind = $1)";\n`,
  'mark_done.ts': `import { PENDING } from './lib/pending';
interface Result { next: string | null; rows: number }
export const description: string = 'Mark items done';
export const scopeKeys = ['kind'];
export async function count(ctx: any): Promise<number> {
  const { rows } = await ctx.client.query(\`SELECT count(*) AS n FROM items WHERE \${PENDING}\`, [ctx.scope.kind ?? null]);
  return Number(rows[0].n);
}
export async function batch(ctx: any, cursor: string | null): Promise<Result> {
  const { rows } = await ctx.client.query(\`WITH b AS (
      SELECT id FROM items WHERE \${PENDING} AND ($2::int IS NULL OR id > $2) ORDER BY id LIMIT $3
    ), c AS (
      UPDATE items SET done = true, touches = touches + (SELECT 1 / CASE WHEN items.id = 25 AND poisoned THEN 0 ELSE 1 END FROM flags)
        FROM b WHERE items.id = b.id AND NOT items.done RETURNING 1
    )
    SELECT (SELECT max(id) FROM b)::text AS next, (SELECT count(*) FROM c)::int AS rows\`, [ctx.scope.kind ?? null, cursor, ctx.batchSize]);
  return rows[0];
}
`,
  'plain.mjs': `export const description = 'Count odd items';
export async function count(ctx) { return (await ctx.client.query("SELECT count(*) FROM items WHERE kind = 'odd'")).rows[0].count; }
export async function batch() { return { rows: 0, next: null }; }
`,
  'legacy.js': `async function count() { return 7n; }
async function batch() { return { rows: 0, next: null }; }
module.exports = { description: 'A CommonJS backfill', count, batch };
`,
  'stuck.mjs': `export const description = 'Never moves';
export async function count() { return 1; }
export async function batch(ctx, cursor) { return { rows: 0, next: 1 }; }
`,
  'broken.ts': `export const description = 'Only a description';\n`,
  'typo.ts': `export const description = 'Does not compile';\nexport function count( {\n`,
};

const open: TestDatabase[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((db) => db.close()));
});

async function project(): Promise<{ db: TestDatabase; cwd: string; cli: (target: string, args?: string[]) => ReturnType<typeof runCli> }> {
  const db = await createTestDatabase('bf_contract');
  open.push(db);
  await db.query(SETUP);
  const cwd = await mkdtemp(path.join(tmpdir(), 'tidemark-backfills-'));
  await mkdir(path.join(cwd, 'backfills/lib'), { recursive: true });
  await Promise.all(Object.entries(MODULES).map(([file, text]) => writeFile(path.join(cwd, 'backfills', file), text)));
  return { db, cwd, cli: (target, args = []) => runCli(target, args, { cwd, env: { DATABASE_URL: db.url } }) };
}

const noTables = async (db: TestDatabase) => (await db.query("SELECT to_regclass('tidemark_backfill_runs') IS NULL AS none")).rows[0].none;

describe('backfill modules', () => {
  it('a failing batch is rolled back and recorded; a rerun resumes after the last batch, --restart begins again', async () => {
    const { db, cli } = await project();
    const failed = await cli('backfill', ['mark_done', '--batch-size', '10']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toBe([
      'BACKFILL_FAILED: a batch failed',
      '  operation: run backfill mark_done (all rows), batch 3 after cursor "20"',
      '  error: division by zero (SQLSTATE 22012)',
      '  hint: it was rolled back; the 2 batches before it (20 rows) are committed and checkpointed. Fix the cause and run again to resume, or --restart to begin again.',
      '',
    ].join('\n'));
    expect((await db.query('SELECT count(*)::int AS n FROM items WHERE done')).rows[0].n).toBe(20);
    expect((await db.query('SELECT outcome, row_count::int, error FROM tidemark_backfill_runs')).rows).toEqual([
      { outcome: 'failed', row_count: 20, error: 'run backfill mark_done (all rows), batch 3 after cursor "20": division by zero (SQLSTATE 22012)' },
    ]);
    const resumed = await cli('backfill', ['mark_done', '--batch-size', '10']);
    expect(resumed.stderr).toContain('operation: run backfill mark_done (all rows), batch 1 after cursor "20"');
    const restarted = await cli('backfill', ['mark_done', '--batch-size', '10', '--restart']);
    expect(restarted.stderr).toContain('operation: run backfill mark_done (all rows), batch 1 from the start');

    await db.query('UPDATE flags SET poisoned = false');
    const fixed = await cli('backfill', ['mark_done', '--batch-size', '10', '--json']);
    expect(fixed.code, fixed.stderr).toBe(0);
    const report = JSON.parse(fixed.stdout);
    expect(report).toMatchObject({ outcome: 'completed', rows: 30, batches: 4 });
    expect(report.resumed).toBeUndefined();
    expect((await db.query('SELECT touches, count(*)::int AS n FROM items GROUP BY touches')).rows).toEqual([{ touches: 1, n: 50 }]);
    expect((await db.query('SELECT outcome, row_count::int AS rows, resumed_after FROM tidemark_backfill_runs ORDER BY id')).rows).toEqual([
      { outcome: 'failed', rows: 20, resumed_after: null },
      { outcome: 'failed', rows: 0, resumed_after: '20' },
      { outcome: 'failed', rows: 0, resumed_after: null },
      { outcome: 'completed', rows: 30, resumed_after: null },
    ]);
  });

  it('a scope limits the rows; a key the backfill does not declare, or a malformed scope, is refused', async () => {
    const { db, cli } = await project();
    await db.query('UPDATE flags SET poisoned = false');
    const even = await cli('backfill', ['mark_done', '--scope', 'kind=even', '-q']);
    expect(even).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect((await db.query('SELECT kind, count(*)::int AS n FROM items WHERE done GROUP BY kind')).rows).toEqual([{ kind: 'even', n: 25 }]);
    const unknownKey = await cli('backfill', ['mark_done', '--scope', 'tenant=1']);
    expect(unknownKey.code).toBe(2);
    expect(unknownKey.stderr).toMatch(/^INVALID_ARGUMENT[^]*does not take --scope tenant\n {2}hint: it takes: kind\n$/);
    for (const bad of [['--scope', 'kind'], ['--scope', '=odd'], ['--scope', 'kind='], ['--scope', 'kind=odd', '--scope', 'kind=even'], ['--batch-size', '0'], ['--sleep', '-5']]) {
      const result = await cli('backfill', ['mark_done', ...bad]);
      expect(result.code, bad.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/^INVALID_ARGUMENT: /);
    }
    expect((await cli('backfill', ['plain', '--scope', 'kind=odd'])).stderr).toContain('hint: it takes no scope: it runs over all its rows');
    expect((await db.query('SELECT count(*)::int AS n FROM items WHERE done')).rows[0].n).toBe(25);
  });

  it('.mjs and CommonJS .js modules load as they are; a count() may return text or a bigint', async () => {
    const { db, cli } = await project();
    expect((await cli('backfill', ['plain', '--dry-run'])).stdout).toBe('Dry run: backfill plain (all rows) would change 25 rows; nothing was changed.\n');
    expect((await cli('backfill', ['legacy', '--dry-run'])).stdout).toBe('Dry run: backfill legacy (all rows) would change 7 rows; nothing was changed.\n');
    expect(await noTables(db)).toBe(true);
  });

  it('an unknown backfill, a module without the contract, one that does not compile, or one that never advances: coded errors, nothing changed', async () => {
    const { db, cwd, cli } = await project();
    const unknown = await cli('backfill', ['nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^BACKFILL_NOT_FOUND: no such backfill\n {2}operation: find backfill nope\n {2}error: no nope\.ts \(nor \.mts, \.js, \.mjs\) in .+\n {2}hint: one of: broken, legacy, mark_done, plain, stuck, typo \(tidemark backfill:list\)\n$/);
    const broken = await cli('backfill', ['broken']);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('BACKFILL_INVALID: the backfill does not export the backfill contract');
    expect(broken.stderr).toContain('error: `count(ctx)` must be an exported function; `batch(ctx, cursor)` must be an exported function');
    const typo = await cli('backfill', ['typo', '--dry-run']);
    expect(typo.stderr).toMatch(/^BACKFILL_INVALID: cannot load the backfill\n[^]*error: backfills\/typo\.ts:\d+:\d+: Expected identifier/);
    expect(await noTables(db)).toBe(true);
    const stuck = await cli('backfill', ['stuck']);
    expect(stuck.code).toBe(1);
    expect(stuck.stderr).toContain('error: batch() returned the cursor it was given (1): the run would never end');
    expect((await db.query('SELECT outcome, row_count::int FROM tidemark_backfill_runs')).rows).toEqual([{ outcome: 'failed', row_count: 0 }]);
    expect((await readdir(path.join(cwd, 'backfills'))).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('backfill:create writes a template that loads, never over a file; backfill:list shows each with its last run', async () => {
    const { db, cwd, cli } = await project();
    const created = await cli('backfill:create', ['Fill Slugs']);
    expect(created).toMatchObject({ code: 0, stdout: 'backfills/fill_slugs.ts\n' });
    expect(await readFile(path.join(cwd, 'backfills/fill_slugs.ts'), 'utf8')).toContain("import type { BackfillContext, BatchResult } from 'tidemark';");
    const again = await cli('backfill:create', ['fill_slugs']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^BACKFILL_CREATE_FAILED[^]*fill_slugs\.ts already exists; nothing was overwritten/);
    expect((await cli('backfill:create', ['plain'])).stderr).toMatch(/plain\.mjs already exists/);
    expect((await cli('backfill:create', ['../escape'])).code).toBe(2);

    await db.query('UPDATE flags SET poisoned = false');
    expect((await cli('backfill', ['mark_done', '--scope', 'kind=odd', '-q'])).code).toBe(0);
    const list = await cli('backfill:list');
    expect(list.code).toBe(1);
    const lines = list.stdout.split('\n');
    expect(lines).toContain('fill_slugs  TODO: what this fills in, and why');
    expect(lines).toContain('    scope keys: tenant_id');
    expect(lines).toContain('mark_done  Mark items done');
    expect(lines.find((l) => l.startsWith('    last run: completed'))).toMatch(/^ {4}last run: completed \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ by postgres \(.+\), scope kind=odd, 25 rows in .+$/);
    expect(lines.filter((l) => l === '    last run: never').length).toBe(4);
    expect(lines).toContain('broken  (cannot be loaded)');
    expect(lines).toContain('typo  (cannot be loaded)');
    const json = JSON.parse((await cli('backfill:list', ['--json'])).stdout);
    expect(json.backfills.find((b: { name: string }) => b.name === 'mark_done')).toMatchObject({ scopeKeys: ['kind'], lastRun: { outcome: 'completed', rows: 25, scope: { kind: 'odd' } } });
  });
});
