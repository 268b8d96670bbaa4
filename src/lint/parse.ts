/**
 * A migration file as PostgreSQL's parser (libpg-query) sees it: each
 * statement's parse tree and where its first word stands (line and column),
 * plus the `-- tidemark:lint-ignore` comments. The parser's positions are
 * byte offsets into the UTF-8 text; lines and columns are counted here.
 */
import { importExternal } from '../import-external.js';

/** A node of libpg-query's JSON parse tree: `{ IndexStmt: {...} }` unwrapped to its fields. */
export type PgNode = Record<string, any>;

export interface ParsedStatement {
  /** The node type: IndexStmt, AlterTableStmt, ... */
  kind: string;
  node: PgNode;
  text: string;
  line: number;
  column: number;
}

export interface Position {
  line: number;
  column: number;
}

export interface ParsedScript {
  statements: ParsedStatement[];
  /** The parser's error, placed; the statements are then empty. */
  error?: Position & { message: string };
}

type RawStatement = { stmt: Record<string, PgNode>; stmt_location?: number; stmt_len?: number };

const NEWLINE = 0x0a;

/** The offset of the first byte that is not whitespace or a comment, from `from`. */
export function skipBlank(bytes: Buffer, from: number, end = bytes.length): number {
  let i = from;
  while (i < end) {
    const c = bytes[i];
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0c) i++;
    else if (c === 0x2d && bytes[i + 1] === 0x2d) {
      const nl = bytes.indexOf(NEWLINE, i);
      i = nl === -1 ? end : nl + 1;
    } else if (c === 0x2f && bytes[i + 1] === 0x2a) i = skipBlockComment(bytes, i, end);
    else break;
  }
  return i;
}

/** Block comments nest in PostgreSQL. */
function skipBlockComment(bytes: Buffer, from: number, end: number): number {
  let depth = 0;
  for (let i = from; i < end - 1; i++) {
    if (bytes[i] === 0x2f && bytes[i + 1] === 0x2a) [depth, i] = [depth + 1, i + 1];
    else if (bytes[i] === 0x2a && bytes[i + 1] === 0x2f) {
      depth--;
      i++;
      if (depth === 0) return i + 1;
    }
  }
  return end;
}

/** Line and column (1-based, the column in characters) of byte offsets asked in increasing order. */
class Positions {
  private offset = 0;
  private line = 1;
  private lineStart = 0;

  constructor(private readonly bytes: Buffer) {}

  at(offset: number): Position {
    for (let i = this.bytes.indexOf(NEWLINE, this.offset); i !== -1 && i < offset; i = this.bytes.indexOf(NEWLINE, i + 1)) {
      this.line++;
      this.lineStart = i + 1;
    }
    this.offset = offset;
    return { line: this.line, column: this.bytes.toString('utf8', this.lineStart, offset).length + 1 };
  }
}

/** Where the parser's error cursor (0-based, in code points) points. */
function errorPosition(sql: string, err: unknown): Position & { message: string } {
  const message = (err as Error).message;
  const cursor = (err as { sqlDetails?: { cursorPosition?: number } }).sqlDetails?.cursorPosition;
  if (cursor === undefined) return { message, line: 1, column: 1 };
  const prefix = [...sql].slice(0, cursor).join('');
  const lines = prefix.split('\n');
  return { message, line: lines.length, column: lines.at(-1)!.length + 1 };
}

export async function parseScript(sql: string): Promise<ParsedScript> {
  const { parse } = await importExternal<typeof import('libpg-query')>('libpg-query');
  let raw: RawStatement[];
  try {
    raw = ((await parse(sql)) as { stmts?: RawStatement[] }).stmts ?? [];
  } catch (err) {
    return { statements: [], error: errorPosition(sql, err) };
  }
  const bytes = Buffer.from(sql, 'utf8');
  const positions = new Positions(bytes);
  return {
    statements: raw.map((s) => {
      const end = s.stmt_len ? (s.stmt_location ?? 0) + s.stmt_len : bytes.length;
      const start = skipBlank(bytes, s.stmt_location ?? 0, end);
      const kind = Object.keys(s.stmt)[0];
      return { kind, node: s.stmt[kind], text: bytes.toString('utf8', start, end).trim(), ...positions.at(start) };
    }),
  };
}

/** A `-- tidemark:lint-ignore RULE reason` comment. */
export interface IgnoreComment {
  line: number;
  rule?: string;
  reason?: string;
}

const IGNORE = /^\s*--\s*tidemark:lint-ignore\b[ \t]*(\S*)[ \t]*(.*?)\s*$/;

export function findIgnores(sql: string): IgnoreComment[] {
  const found: IgnoreComment[] = [];
  sql.split('\n').forEach((text, i) => {
    const match = IGNORE.exec(text);
    if (match) found.push({ line: i + 1, rule: match[1] || undefined, reason: match[2] || undefined });
  });
  return found;
}

/** Whitespace collapsed, at most `max` characters. */
export function shorten(text: string, max = 120): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}
