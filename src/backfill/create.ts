import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { TidemarkError } from '../errors.js';
import { normaliseMigrationName } from '../migrate/source/parse.js';
import { listBackfillFiles } from './loader.js';

export interface CreatedBackfill {
  name: string;
  path: string;
}

/**
 * The template: a keyset over the primary key, and a change that only
 * touches rows not yet in the target state, so that a second run, or a
 * resumed one, changes nothing twice.
 */
export function backfillTemplate(name: string): string {
  return `/**
 * Backfill ${name}.
 *
 *   task backfill -- ${name} --dry-run              # count the rows it would change
 *   task backfill -- ${name} --scope tenant_id=42   # one tenant first
 *   task backfill -- ${name}                        # everything, in batches
 *
 * tidemark runs each batch(ctx, cursor) in its own transaction and commits it
 * with a checkpoint: a run that is stopped or killed resumes after the last
 * committed batch. Do not COMMIT here.
 */
import type { BackfillContext, BatchResult } from 'tidemark';

export const description = 'TODO: what this fills in, and why';

/** The keys --scope accepts; any other key is refused. */
export const scopeKeys = ['tenant_id'];

// Idempotent: only rows not yet in the target state match, so nothing is changed twice.
const PENDING = 'new_column IS NULL AND ($1::bigint IS NULL OR tenant_id = $1)';

/** The rows still to change: what --dry-run reports, and the basis of the ETA. */
export async function count(ctx: BackfillContext): Promise<number> {
  const { rows } = await ctx.client.query(\`SELECT count(*) AS n FROM my_table WHERE \${PENDING}\`, [ctx.scope.tenant_id ?? null]);
  return Number(rows[0].n);
}

/** At most ctx.batchSize rows after the cursor (the last id done; null at the start), in one statement. */
export async function batch(ctx: BackfillContext, cursor: string | null): Promise<BatchResult<string>> {
  const { rows } = await ctx.client.query(
    \`WITH batch AS (
       SELECT id FROM my_table
        WHERE \${PENDING} AND ($2::bigint IS NULL OR id > $2)
        ORDER BY id
        LIMIT $3
     ), changed AS (
       UPDATE my_table t SET new_column = lower(t.old_column)
         FROM batch WHERE t.id = batch.id AND t.new_column IS NULL
       RETURNING 1
     )
     SELECT (SELECT max(id) FROM batch)::text AS next, (SELECT count(*) FROM changed)::int AS rows\`,
    [ctx.scope.tenant_id ?? null, cursor, ctx.batchSize],
  );
  // next is null when the keyset is exhausted: the run is complete.
  return { rows: rows[0].rows, next: rows[0].next };
}
`;
}

/** Writes backfills/NAME.ts from the template, never over an existing file (`task backfill:create`). */
export async function createBackfill(rawName: string, options: { dir: string }): Promise<CreatedBackfill> {
  const operation = `create backfill "${rawName}"`;
  const name = normaliseMigrationName(rawName);
  if (!name) {
    throw new TidemarkError('BACKFILL_NAME_INVALID', 'unusable backfill name', {
      operation,
      cause: rawName.trim() ? 'the name holds a path separator, a quote, ".." or a control character, or has no letter or digit' : 'the name is empty',
      hint: 'use letters, digits, spaces, - or _, e.g. `task backfill:create -- fill_user_slugs`',
    });
  }
  const file = path.join(options.dir, `${name}.ts`);
  try {
    const other = (await listBackfillFiles(options.dir)).find((f) => f.name === name);
    if (other) throw Object.assign(new Error(), { code: 'EEXIST', path: other.file });
    await mkdir(options.dir, { recursive: true });
    await writeFile(file, backfillTemplate(name), { flag: 'wx', mode: 0o644 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new TidemarkError('BACKFILL_CREATE_FAILED', 'cannot create the backfill', {
      operation,
      cause: code === 'EEXIST' ? `${(err as NodeJS.ErrnoException).path ?? file} already exists; nothing was overwritten` : (err as Error).message,
      hint: code === 'EEXIST' ? 'pick another name' : undefined,
    }, { cause: err });
  }
  return { name, path: file };
}
