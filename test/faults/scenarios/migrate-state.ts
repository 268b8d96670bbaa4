/** What a migrate trial reads back: the version row, the history's last row, the schema. */
import type pg from 'pg';
import { schemaFingerprint, schemaLines } from '../fingerprint.js';

export interface MigrationState {
  /** null: no version recorded (or no table). */
  version: number | null;
  dirty: boolean;
  /** to_version of the history's newest row; undefined when there is none. */
  historyTo?: number | null;
  fingerprint: string;
  /** The fingerprint without indexes left INVALID by a CREATE INDEX CONCURRENTLY cut short, and their names. */
  validFingerprint: string;
  invalidIndexes: string[];
}

/** Read in one snapshot: a backend the command left running may still commit while we look. */
export async function readState(client: pg.Client): Promise<MigrationState> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    return await readStateIn(client);
  } finally {
    await client.query('ROLLBACK');
  }
}

async function readStateIn(client: pg.Client): Promise<MigrationState> {
  const exists = async (t: string) => (await client.query('SELECT to_regclass($1) IS NOT NULL AS e', [t])).rows[0].e as boolean;
  let version: number | null = null;
  let dirty = false;
  if (await exists('schema_migrations')) {
    const { rows } = await client.query('SELECT version::int AS v, dirty FROM schema_migrations');
    if (rows.length) [version, dirty] = [rows[0].v === -1 ? null : rows[0].v, rows[0].dirty];
  }
  let historyTo: number | null | undefined;
  if (await exists('schema_migrations_history')) {
    const { rows } = await client.query("SELECT to_version::int AS t FROM schema_migrations_history WHERE direction = 'up' ORDER BY id DESC LIMIT 1");
    if (rows.length) historyTo = rows[0].t;
  }
  const lines = await schemaLines(client);
  const invalid = lines.filter((l) => l.endsWith(' INVALID'));
  return {
    version, dirty, historyTo,
    fingerprint: await schemaFingerprint(client),
    validFingerprint: lines.filter((l) => !l.endsWith(' INVALID')).join('\n'),
    invalidIndexes: invalid.map((l) => l.match(/INDEX (\S+)/)?.[1] ?? l),
  };
}

export const versionText = (v: number | null) => (v === null ? 'none' : String(v));

/**
 * The states the command's own words claim ("still at version 3, not
 * dirty", "dirty at version 4"); each must be the truth.
 */
export function claimedStates(text: string): Array<{ version: string; dirty: boolean; words: string }> {
  const dirty = [...text.matchAll(/dirty at version (-?\d+|none)/g)].map((m) => ({ version: m[1], dirty: true, words: m[0] }));
  // "still at version 3" (not "now dirty at version 3", which the first pattern reads).
  const clean = [...text.matchAll(/\b(?:still|now|left|remains|stays) at version (-?\d+|none)/g)].map((m) => ({ version: m[1], dirty: false, words: m[0] }));
  return [...dirty, ...clean];
}

/** How many statements of the no-transaction file the message says ran, if it says. */
export function statementsSaidToRun(text: string, total: number): number | undefined {
  if (/no statement (before it ran|of \d+ ran)/.test(text)) return 0;
  const range = text.match(/statements 1-(\d+)(?: of \d+)? ran/);
  if (range) return Number(range[1]);
  if (/statement 1(?: of \d+)? ran/.test(text)) return 1;
  if (/the file ran\b/.test(text)) return total;
  const of = text.match(/(\d+) of (\d+) statements? ran/);
  return of ? Number(of[1]) : undefined;
}
