/**
 * Statement boundaries come from PostgreSQL's own parser (libpg-query, compiled
 * to WebAssembly), so dollar-quoted bodies, quoted strings, comments and
 * `BEGIN ATOMIC ... END` bodies stay whole. The parser is loaded only for the
 * files that need it.
 */
import { importExternal } from '../import-external.js';

export interface SqlStatement {
  text: string;
  /** 1-based line in the file where the statement starts. */
  line: number;
}

export class SqlSyntaxError extends Error {
  constructor(message: string, readonly line: number | undefined) {
    super(message);
  }
}

type ParsedStatement = { stmt: Record<string, unknown>; stmt_location?: number; stmt_len?: number };

async function parseStatements(sql: string): Promise<ParsedStatement[]> {
  const { parse } = await importExternal<typeof import('libpg-query')>('libpg-query');
  try {
    const result = (await parse(sql)) as unknown as { stmts?: ParsedStatement[] };
    return result.stmts ?? [];
  } catch (err) {
    const cursor = (err as { sqlDetails?: { cursorPosition?: number } }).sqlDetails?.cursorPosition;
    const line = cursor !== undefined ? Buffer.from(sql, 'utf8').subarray(0, cursor).toString('utf8').split('\n').length : undefined;
    throw new SqlSyntaxError((err as Error).message, line);
  }
}

/** Splits a script into the statements PostgreSQL would see, each with its starting line. */
export async function splitStatements(sql: string): Promise<SqlStatement[]> {
  const bytes = Buffer.from(sql, 'utf8');
  const statements: SqlStatement[] = [];
  for (const s of await parseStatements(sql)) {
    // Locations are byte offsets into the UTF-8 text.
    const start = s.stmt_location ?? 0;
    const end = s.stmt_len ? start + s.stmt_len : bytes.length;
    const raw = bytes.subarray(start, end).toString('utf8');
    const leading = raw.length - raw.trimStart().length;
    const text = raw.trim();
    if (!text) continue;
    const line = bytes.subarray(0, start).toString('utf8').split('\n').length + raw.slice(0, leading).split('\n').length - 1;
    statements.push({ text, line });
  }
  return statements;
}

// Cheap screen: only scripts with one of these words can hold transaction control.
const TRANSACTION_WORDS = /\b(begin|commit|end|rollback|abort|start\s+transaction|savepoint|release|prepare\s+transaction)\b/i;

/** Whether the script runs its own BEGIN/COMMIT at top level (not inside a function body). */
export async function managesOwnTransaction(sql: string): Promise<boolean> {
  if (!TRANSACTION_WORDS.test(sql)) return false;
  try {
    return (await parseStatements(sql)).some((s) => 'TransactionStmt' in s.stmt);
  } catch {
    // Unparseable here: let the server report the error, inside a transaction.
    return false;
  }
}

export const NO_TRANSACTION_MARKER = /^\s*--\s*tidemark:no-transaction\b/;

/** The first line of the file is `-- tidemark:no-transaction`. */
export function wantsNoTransaction(sql: string): boolean {
  const firstLine = sql.replace(/^\uFEFF/, '').split('\n', 1)[0];
  return NO_TRANSACTION_MARKER.test(firstLine);
}
