/**
 * Naming the line of a failed statement when PostgreSQL gives no position
 * ("relation "objects" already exists", a constraint violated by an
 * INSERT): the file is never run again to find it, since a second run would
 * repeat side effects (sequences advance, locks are retaken) and take as
 * long again. Instead the parser's statement boundaries are matched with
 * the names the error message quotes.
 */
import type { SqlContext } from '../../pg-errors.js';
import { splitStatements, type SqlStatement } from '../../sql/split.js';

/** The double-quoted names in PostgreSQL's message, e.g. `relation "objects" already exists` → objects. */
export function quotedNames(message: string): string[] {
  return [...message.matchAll(/"((?:[^"]|"")+)"/g)].map((m) => m[1].replace(/""/g, '"'));
}

function mentions(statement: SqlStatement, name: string): boolean {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // As an identifier: unquoted (any case, not part of a longer word) or quoted exactly.
  return new RegExp(`(^|[^\\w$"])${escaped}($|[^\\w$"])`, 'i').test(statement.text) || statement.text.includes(`"${name}"`);
}

// Errors about creating something point at the statement that creates it.
const CREATING = /already exists/i;
const CREATES = /^\s*(create|alter\s+\w+.*\s(add|rename)\s)/is;

/** The statements the error's names point at, best first. */
export function candidateStatements(statements: SqlStatement[], message: string): SqlStatement[] {
  const names = quotedNames(message);
  if (!names.length) return [];
  let found = statements.filter((s) => names.every((n) => mentions(s, n)));
  if (found.length > 1 && CREATING.test(message)) {
    const creating = found.filter((s) => CREATES.test(s.text));
    if (creating.length) found = creating;
  }
  return found;
}

export interface Location {
  context: SqlContext;
  /** When several statements fit: the lines they start at. */
  candidateLines?: number[];
}

/** Where in the file a position-less error most likely arose; the whole file when nothing fits. */
export async function locateWithoutPosition(sql: string, message: string): Promise<Location> {
  const statements = await splitStatements(sql).catch(() => [] as SqlStatement[]);
  if (statements.length === 1) return { context: { sql: statements[0].text, firstLine: statements[0].line } };
  const found = candidateStatements(statements, message);
  if (found.length === 1) return { context: { sql: found[0].text, firstLine: found[0].line } };
  return { context: { sql }, candidateLines: found.length ? found.map((s) => s.line) : undefined };
}
