/**
 * What a backfill module exports, checked when it is loaded. The module owns
 * the SQL (which rows, what change, the keyset); the runner owns transactions,
 * timeouts, checkpoints, the run record, locking and progress.
 */
import type pg from 'pg';
import { TidemarkError } from '../errors.js';

/** A position in the keyset: any JSON value (an id, or `[created_at, id]`), stored as jsonb. */
export type BackfillCursor = string | number | boolean | BackfillCursor[] | { [key: string]: BackfillCursor };

export interface BackfillContext {
  /** A connection inside the batch's transaction (a read-only one for `count`). Do not COMMIT. */
  client: pg.ClientBase;
  /** The `--scope KEY=VALUE` pairs, values as text; only keys listed in `scopeKeys`. */
  scope: Readonly<Record<string, string>>;
  /** `--batch-size`: at most this many rows per batch. */
  batchSize: number;
}

export interface BatchResult<C extends BackfillCursor = BackfillCursor> {
  /** Rows changed by this batch. */
  rows: number;
  /** Where the next batch starts, or null when there is nothing left. */
  next: C | null;
}

export interface BackfillModule {
  /** One line for `backfill:list`. */
  description: string;
  /** The `--scope` keys this backfill understands; any other key is refused. */
  scopeKeys?: readonly string[];
  /** Rows still to change in the scope: what `--dry-run` reports, and the basis of the ETA. */
  count(ctx: BackfillContext): Promise<number | bigint | string>;
  /** Changes at most `ctx.batchSize` rows after `cursor` (null: from the start). */
  batch(ctx: BackfillContext, cursor: BackfillCursor | null): Promise<BatchResult>;
}

export interface Backfill extends BackfillModule {
  name: string;
  file: string;
  scopeKeys: readonly string[];
}

const isFunction = (value: unknown): value is (...args: never[]) => unknown => typeof value === 'function';

function contractProblems(mod: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (typeof mod.description !== 'string' || !mod.description.trim()) problems.push('`description` must be a non-empty string');
  if (!isFunction(mod.count)) problems.push('`count(ctx)` must be an exported function');
  if (!isFunction(mod.batch)) problems.push('`batch(ctx, cursor)` must be an exported function');
  const keys = mod.scopeKeys;
  if (keys !== undefined && !(Array.isArray(keys) && keys.every((k) => typeof k === 'string' && k))) problems.push('`scopeKeys`, when given, must be an array of names');
  return problems;
}

/** The module's exports (named, or a default object) as a Backfill, or BACKFILL_INVALID naming every problem. */
export function asBackfill(exports: Record<string, unknown>, name: string, file: string): Backfill {
  const mod = (exports.default && typeof exports.default === 'object' && !('batch' in exports) ? exports.default : exports) as Record<string, unknown>;
  const problems = contractProblems(mod);
  if (problems.length) {
    throw new TidemarkError('BACKFILL_INVALID', 'the backfill does not export the backfill contract', {
      operation: `load backfill ${name} (${file})`,
      cause: problems.join('; '),
      hint: 'export description, count(ctx) and batch(ctx, cursor) (and scopeKeys to accept --scope); `task backfill:create -- NAME` writes a template',
    });
  }
  const m = mod as unknown as BackfillModule;
  return { name, file, description: m.description.trim(), scopeKeys: m.scopeKeys ?? [], count: m.count, batch: m.batch };
}

/** A count() result as a number, or undefined when it is not a whole number ≥ 0. */
export function countValue(value: unknown): number | undefined {
  const n = typeof value === 'bigint' ? Number(value) : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** Why a batch() result breaks the contract, or undefined when it keeps it. */
export function batchResultProblem(result: unknown, cursor: BackfillCursor | null): string | undefined {
  if (!result || typeof result !== 'object') return 'batch() must return { rows, next }';
  const { rows, next } = result as { rows?: unknown; next?: unknown };
  if (countValue(rows) === undefined) return `batch() returned rows = ${String(rows)}; it must be the number of rows changed`;
  if (next === undefined) return 'batch() returned no `next`; return null when there is nothing left';
  let text: string | undefined;
  try {
    text = JSON.stringify(next);
  } catch {
    text = undefined;
  }
  if (text === undefined) return 'batch() returned a `next` that is not JSON (a bigint? return it as a string)';
  if (next !== null && text === JSON.stringify(cursor)) return `batch() returned the cursor it was given (${text}): the run would never end`;
  return undefined;
}
