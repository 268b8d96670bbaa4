/**
 * Statement boundaries come from PostgreSQL's own parser (libpg-query, compiled
 * to WebAssembly), so dollar-quoted bodies, quoted strings, comments and
 * `BEGIN ATOMIC ... END` bodies stay whole. The parser is loaded only for the
 * files that need it.
 *
 * A large file is parsed a chunk at a time: the parser's JSON tree of a whole
 * file of hundreds of thousands of statements takes gigabytes (or fails), and
 * only each statement's place and kind is kept. All positions are byte offsets
 * into the file's UTF-8, and lines are counted once, front to back.
 */
import { importExternal } from '../import-external.js';
import { transactionControl } from './scan.js';

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

/** A statement as the parser places it: byte offsets into the whole text, and its node type. */
interface ParsedStatement {
  kind: string;
  start: number;
  end: number;
}

type RawStatement = { stmt: Record<string, unknown>; stmt_location?: number; stmt_len?: number };
type Parse = (sql: string) => Promise<unknown>;

/** About this much text goes to the parser at once. */
const CHUNK_BYTES = 256 * 1024;
const SEMICOLON = 0x3b;
const NEWLINE = 0x0a;

/** Counts lines front to back: each byte is looked at once however many positions are asked for, in order. */
class LineCounter {
  private offset = 0;
  private line = 1;

  constructor(private readonly bytes: Buffer) {}

  /** The 1-based line of a byte offset; offsets are expected in increasing order. */
  lineAt(offset: number): number {
    if (offset < this.offset) [this.offset, this.line] = [0, 1];
    const { bytes } = this;
    for (let i = bytes.indexOf(NEWLINE, this.offset); i !== -1 && i < offset; i = bytes.indexOf(NEWLINE, i + 1)) this.line++;
    this.offset = offset;
    return this.line;
  }
}

function countNewlines(text: string, end: number): number {
  let count = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < end; i = text.indexOf('\n', i + 1)) count++;
  return count;
}

/**
 * Where a chunk may end: just after the first semicolon at or after `from`
 * that ends its line (the end of the text when there is none). Only a guess:
 * the semicolon may sit in a string, a comment or a function body, which
 * the parse of the chunk finds out.
 */
function nextCut(bytes: Buffer, from: number): number {
  if (from >= bytes.length) return bytes.length;
  for (let i = bytes.indexOf(SEMICOLON, from); i !== -1; i = bytes.indexOf(SEMICOLON, i + 1)) {
    let j = i + 1;
    while (bytes[j] === 0x20 || bytes[j] === 0x09 || bytes[j] === 0x0d) j++;
    if (j >= bytes.length || bytes[j] === NEWLINE) return i + 1;
  }
  return bytes.length;
}

function syntaxError(err: unknown, chunk: string, linesBefore: number): SqlSyntaxError {
  const cursor = (err as { sqlDetails?: { cursorPosition?: number } }).sqlDetails?.cursorPosition;
  if (cursor === undefined) return new SqlSyntaxError((err as Error).message, undefined);
  // PostgreSQL's error cursor counts characters (code points), not bytes or UTF-16 units.
  let end = 0;
  for (let n = 0; n < cursor && end < chunk.length; n++) end += chunk.codePointAt(end)! > 0xffff ? 2 : 1;
  return new SqlSyntaxError((err as Error).message, linesBefore + countNewlines(chunk, end) + 1);
}

/** One text parsed a chunk at a time, front to back. */
class ChunkedParse {
  private readonly lines: LineCounter;

  constructor(private readonly parse: Parse, private readonly sql: string, private readonly bytes: Buffer) {
    this.lines = new LineCounter(bytes);
  }

  async statements(): Promise<ParsedStatement[]> {
    const statements: ParsedStatement[] = [];
    for (let from = 0, size = CHUNK_BYTES; from < this.bytes.length; ) {
      const to = nextCut(this.bytes, from + size);
      const parsed = await this.chunk(from, to);
      if (!parsed) {
        // A cut inside a statement: at least twice the length, past this cut, so that
        // a long statement costs at most about twice its parse.
        size = Math.max(size * 2, to - from + 1);
        continue;
      }
      for (const s of parsed) statements.push(s);
      from = to;
      size = CHUNK_BYTES;
    }
    return statements;
  }

  /**
   * The statements of bytes [from, to). A chunk that ends before the text
   * does is only accepted when its last statement ends at its final
   * semicolon, that is when the cut fell between two statements; otherwise
   * (or on a parse error) it gives undefined, for a longer try.
   */
  private async chunk(from: number, to: number): Promise<ParsedStatement[] | undefined> {
    const text = from === 0 && to === this.bytes.length ? this.sql : this.bytes.toString('utf8', from, to);
    const final = to === this.bytes.length;
    let raw: RawStatement[];
    try {
      raw = ((await this.parse(text)) as { stmts?: RawStatement[] }).stmts ?? [];
    } catch (err) {
      if (final) throw syntaxError(err, text, this.lines.lineAt(from) - 1);
      return undefined;
    }
    const last = raw.at(-1);
    if (!final && (!last?.stmt_len || (last.stmt_location ?? 0) + last.stmt_len !== to - from - 1)) return undefined;
    return raw.map((s) => {
      const start = from + (s.stmt_location ?? 0);
      return { kind: Object.keys(s.stmt)[0], start, end: s.stmt_len ? start + s.stmt_len : to };
    });
  }
}

async function parseStatements(sql: string, bytes: Buffer): Promise<ParsedStatement[]> {
  const { parse } = await importExternal<typeof import('libpg-query')>('libpg-query');
  return new ChunkedParse(parse as Parse, sql, bytes).statements();
}

/** Splits a script into the statements PostgreSQL would see, each with its starting line. */
export async function splitStatements(sql: string): Promise<SqlStatement[]> {
  const bytes = Buffer.from(sql, 'utf8');
  const lines = new LineCounter(bytes);
  const statements: SqlStatement[] = [];
  for (const s of await parseStatements(sql, bytes)) {
    const raw = bytes.toString('utf8', s.start, s.end);
    const text = raw.trim();
    if (!text) continue;
    const leading = raw.length - raw.trimStart().length;
    statements.push({ text, line: lines.lineAt(s.start) + countNewlines(raw, leading) });
  }
  return statements;
}

// Cheap screen: only scripts with one of these words can hold transaction control.
const TRANSACTION_WORDS = /\b(begin|commit|end|rollback|abort|start\s+transaction|savepoint|release|prepare\s+transaction)\b/i;

/**
 * False when a lexical pass is certain the script runs no BEGIN/COMMIT of its
 * own; true when only the parser can tell (managesOwnTransaction). Function
 * bodies are full of BEGIN and END: the parser is asked only where a doubt is
 * left, and a caller with many scripts awaits only those.
 */
export function mayManageOwnTransaction(sql: string): boolean {
  return TRANSACTION_WORDS.test(sql) && transactionControl(sql) !== 'none';
}

/** Whether the script runs its own BEGIN/COMMIT at top level (not inside a function body). */
export async function managesOwnTransaction(sql: string): Promise<boolean> {
  if (!mayManageOwnTransaction(sql)) return false;
  try {
    return (await parseStatements(sql, Buffer.from(sql, 'utf8'))).some((s) => s.kind === 'TransactionStmt');
  } catch {
    // Unparseable here: let the server report the error, inside a transaction.
    return false;
  }
}

// On the first line only: whitespace there never crosses a line feed. A byte order mark is whitespace to \s.
const NO_TRANSACTION_MARKER = /^[^\S\n]*--[^\S\n]*tidemark:no-transaction\b/;

/** The first line of the file is `-- tidemark:no-transaction`. */
export function wantsNoTransaction(sql: string): boolean {
  return NO_TRANSACTION_MARKER.test(sql);
}
