/**
 * Lower-cases objects.sha256. Digests are looked up in lower-case hex
 * (objects_sha256_idx), but some clients uploaded them in upper case, which
 * such lookups miss.
 *
 *   task backfill -- objects_sha256_lowercase --dry-run
 *   task backfill -- objects_sha256_lowercase --scope repo_id=42
 *   task backfill -- objects_sha256_lowercase
 */
// In a project of your own: `from 'tidemark'`.
import type { BackfillContext, BatchResult } from '../src/index.js';

export const description = 'Lower-case objects.sha256, so that digest lookups find objects uploaded with upper-case hex';

export const scopeKeys = ['repo_id'];

// Idempotent: only digests not yet in lower case match, so no row is changed twice.
const PENDING = 'sha256 <> lower(sha256) AND ($1::bigint IS NULL OR repo_id = $1)';

export async function count(ctx: BackfillContext): Promise<number> {
  const { rows } = await ctx.client.query(`SELECT count(*) AS n FROM objects WHERE ${PENDING}`, [ctx.scope.repo_id ?? null]);
  return Number(rows[0].n);
}

/**
 * One statement per batch: the next batchSize pending ids after the cursor,
 * walked in primary-key order (a keyset, never OFFSET), then one UPDATE of
 * that id range.
 */
export async function batch(ctx: BackfillContext, cursor: string | null): Promise<BatchResult<string>> {
  const { rows } = await ctx.client.query(
    `WITH batch AS (
       SELECT max(id) AS last FROM (
         SELECT id FROM objects WHERE ${PENDING} AND ($2::bigint IS NULL OR id > $2) ORDER BY id LIMIT $3
       ) ids
     ), changed AS (
       UPDATE objects SET sha256 = lower(sha256)
        WHERE ${PENDING} AND ($2::bigint IS NULL OR id > $2) AND id <= (SELECT last FROM batch)
       RETURNING 1
     )
     SELECT (SELECT last FROM batch)::text AS next, (SELECT count(*) FROM changed)::int AS rows`,
    [ctx.scope.repo_id ?? null, cursor, ctx.batchSize],
  );
  return { rows: rows[0].rows, next: rows[0].next };
}
